/**
 * The Redis driver: ZooKeeper's model on Redis keys and Lua scripts (`scripts.ts`), sessions
 * as TTL keys renewed by heartbeat (`sessions.ts`), watches as pub/sub plus a bounded
 * re-check (`watches.ts`). Every request is one script — one round trip — with a deadline.
 */
import { randomUUID } from 'node:crypto';
import {
  CoordError,
  abortReason,
  checkNodeData,
  checkNodeToken,
  repeatPolicyOf,
  isCoordError,
  monotonicNow,
  validateName,
  validatePath,
  type Capabilities,
  type ChildrenResult,
  type ConnectionConfig,
  type CreateOptions,
  type Driver,
  type DriverSettings,
  type GetResult,
  type NodeRef,
  type ReadOptions,
  type SequentialCreated,
  type Session,
  type SessionStateChange,
  type VersionOptions,
  type WatchEvent,
  ListenerSet,
} from '@coord/core';
import { decodeChildren, decodeCreate, decodeDelete, decodeGet, decodeSet } from './replies.js';
import { Connection, type Repeat } from './connection.js';
import { checkServer, type EvictionCheck } from './server-check.js';
import { Layout } from './layout.js';
import { SCRIPTS, type Script } from './scripts.js';
import { SessionKeeper, indexTtl } from './session.js';
import { Tracker } from './tracker.js';
import { WatchHub, type WatchedRead, type WatchedReply } from './watches.js';

/** Options of {@link RedisDriver.open} beyond the URL. */
export interface RedisDriverOptions {
  /**
   * What to do when the server may evict our keys (`maxmemory` set with a policy other than
   * `noeviction`): `'warn'` (default: a process warning), `'fail'` (reject the connect with
   * `UNAVAILABLE`), or `'ignore'`.
   */
  readonly evictionPolicy?: EvictionCheck;
  /** Receives warnings (an unsafe eviction policy); default: `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/** How often an armed watch is re-read: a third of the TTL, so a dead holder is noticed within about one TTL. */
export function recheckInterval(ttlMs: number): number {
  return Math.max(100, Math.floor(ttlMs / 3));
}

/** A driver on one Redis server (or one master), for one namespace (key prefix). */
export class RedisDriver implements Driver {
  readonly name = 'redis' as const;
  /**
   * Not linearizable and tokens may go backwards: Redis replicates asynchronously, so a
   * failover to a replica can lose acknowledged writes, the namespace counter included.
   */
  readonly capabilities: Capabilities = Object.freeze({ linearizable: false, tokensSurviveFailover: false });
  readonly #conn: Connection;
  readonly #layout: Layout;
  readonly #settings: DriverSettings;
  readonly #keeper: SessionKeeper;
  readonly #hub: WatchHub;
  readonly #tracker: Tracker;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #label: string;
  #closing: Promise<void> | undefined;

  private constructor(config: ConnectionConfig) {
    this.#settings = config.settings;
    this.#layout = new Layout(config.options.prefix);
    const id = randomUUID().slice(0, 8);
    this.#conn = new Connection(config, `coord:${id}`);
    this.#conn.preload(Object.values(SCRIPTS));
    this.#label = this.#conn.label;
    this.#keeper = new SessionKeeper(this.#conn, this.#layout, this.#settings, {
      onChange: (change) => this.#listeners.emit(change),
      onEnded: (session) => this.#hub.sessionEnded(session),
    });
    this.#tracker = new Tracker(new Connection(config, `coord:${id}:track`, 2), {
      onInvalidate: (keys) => this.#keeper.invalidated(keys),
      onReady: (client) => void this.#keeper.track(client),
    }, this.#settings.operationTimeout);
    this.#hub = new WatchHub(this.#layout, recheckInterval(this.#settings.sessionTimeout), this.#conn);
  }

  /**
   * Connects and opens the first session within `config.settings.connectTimeout`.
   * @example `const driver = await RedisDriver.open(parseUrl('redis://:pw@127.0.0.1:6379/0?prefix=app'));`
   * @throws CoordError `AUTH_FAILED`, `UNAVAILABLE` (unreachable, or unsafe eviction with
   *   `evictionPolicy: 'fail'`), `TIMEOUT` (silent server), `UNSUPPORTED` (Redis before 6.0).
   */
  static async open(config: ConnectionConfig, options: RedisDriverOptions = {}): Promise<RedisDriver> {
    const driver = new RedisDriver(config);
    const deadline = monotonicNow() + config.settings.connectTimeout;
    try {
      await driver.#conn.open(deadline);
      driver.#tracker.start();
      await checkServer(driver.#conn, deadline, options.evictionPolicy ?? 'warn', options.onWarning);
      await driver.#keeper.start(deadline);
      // The instant notice of a deleted session needs the tracking connection: have it now,
      // or carry on without it (the heartbeat still finds a lost session) if it is refused.
      await driver.#tracker.ready(deadline).then(
        (id) => driver.#keeper.track(id),
        (error: unknown) => {
          if (!isCoordError(error, 'UNSUPPORTED')) throw error;
          (options.onWarning ?? ((message: string) => process.emitWarning(message)))(`${error.message}; a deleted session is noticed at the next heartbeat`);
        },
      );
    } catch (error) {
      await driver.close();
      throw error;
    }
    return driver;
  }

  get session(): Session {
    return this.#keeper.current;
  }

  /** The key whose expiry (or deletion) ends the current session (a test hook expires it). */
  sessionKey(): string {
    return this.#keeper.key;
  }

  async create(path: string, data: Uint8Array, options: CreateOptions = {}): Promise<NodeRef> {
    validatePath(path);
    if (path === '/') throw new CoordError('INVALID_ARGUMENT', `${this.#label}: cannot create the root`);
    checkNodeData(data, path, this.#label);
    const deadline = this.#begin();
    const owner = await this.#owner(options.ephemeral, deadline);
    const reply = await this.#run(SCRIPTS.create, 'adopt', deadline, undefined, (adopt) =>
      createArgs('p', path, '', data, owner, options.requireParent, this.#settings.sessionTimeout, adopt),
    );
    return decodeCreate(reply).node;
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions = {}): Promise<SequentialCreated> {
    validatePath(dir, 'directory');
    if (prefix !== '') validateName(prefix, 'prefix');
    checkNodeData(data, `${dir}/${prefix}`, this.#label);
    const deadline = this.#begin();
    const owner = await this.#owner(options.ephemeral, deadline);
    const reply = await this.#run(SCRIPTS.create, 'adopt', deadline, undefined, (adopt) =>
      createArgs('s', dir, prefix, data, owner, options.requireParent, this.#settings.sessionTimeout, adopt),
    );
    const { node, siblings } = decodeCreate(reply, dir);
    return { node, siblings };
  }

  async get(path: string, options: ReadOptions = {}): Promise<GetResult> {
    validatePath(path);
    const read = this.#reader(SCRIPTS.get, path, options.signal, (reply) => decodeGet(reply, path));
    if (options.watch !== true) {
      const { node } = await read(() => undefined);
      return node === undefined ? {} : { node };
    }
    const { reply, changed } = await this.#watched(path, 'n', options.signal, read);
    return reply.node === undefined ? { changed } : { node: reply.node, changed };
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    const read = this.#reader(SCRIPTS.children, dir, options.signal, (reply) => decodeChildren(reply, dir));
    if (options.watch !== true) return { nodes: (await read(() => undefined)).nodes };
    const { reply, changed } = await this.#watched(dir, 'c', options.signal, read);
    return { nodes: reply.nodes, changed };
  }

  async set(path: string, data: Uint8Array, options: VersionOptions = {}): Promise<number> {
    validatePath(path);
    checkNodeData(data, path, this.#label);
    const token = tokenArg(checkNodeToken(options.token, path, this.#label));
    const version = versionArg(options.version);
    const deadline = this.#begin();
    // The request id makes a repeat of an applied set return its version instead of applying
    // twice; repeating is still only allowed with a token (the path may have been re-created).
    const request = randomUUID();
    const repeat = repeatPolicyOf(options);
    const reply = await this.#run(SCRIPTS.set, repeat, deadline, undefined, () => [
      path,
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      version,
      token,
      request,
    ]);
    return decodeSet(reply);
  }

  async delete(path: string, options: VersionOptions = {}): Promise<boolean> {
    validatePath(path);
    const token = tokenArg(checkNodeToken(options.token, path, this.#label));
    const version = versionArg(options.version);
    const deadline = this.#begin();
    const repeat = repeatPolicyOf(options);
    // The request id lets a repeat of an applied delete report true (see scripts.ts); the
    // receipt outlives every repeat, which all happen before this call's deadline.
    const request = randomUUID();
    const keep = String(2 * this.#settings.operationTimeout);
    const reply = await this.#run(SCRIPTS.delete, repeat, deadline, undefined, () => [path, version, token, request, keep]);
    return decodeDelete(reply);
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Ends the session on the server (its key and ephemeral nodes are deleted at once, and
   * their watchers told), resolves every watch with `'session'`, and closes both connections.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  toJSON(): { name: string; endpoint: string; session: string } {
    return { name: this.name, endpoint: this.#label, session: this.#keeper.current.id };
  }

  // ---- internals ------------------------------------------------------------------------

  async #close(): Promise<void> {
    await this.#keeper.close(monotonicNow() + Math.min(this.#settings.operationTimeout, 2_000));
    this.#hub.close();
    await Promise.all([this.#tracker.close(), this.#conn.close()]);
  }

  /** Admits one request: its deadline. */
  #begin(signal?: AbortSignal): number {
    if (this.#closing !== undefined) throw new CoordError('CLOSED', `${this.#label}: driver is closed`);
    if (signal?.aborted) throw abortReason(signal, `${this.#label}: request`);
    return monotonicNow() + this.#settings.operationTimeout;
  }

  /** The owner session id of an ephemeral create, once that session exists on the server. */
  async #owner(ephemeral: boolean | undefined, deadline: number): Promise<string> {
    if (ephemeral !== true) return '';
    const session = this.#keeper.current;
    await this.#keeper.established(session, deadline);
    return session.id;
  }

  #run(script: Script, repeat: Repeat, deadline: number, signal: AbortSignal | undefined, args: (adopt: boolean) => (string | Buffer)[]): Promise<unknown> {
    return this.#conn.run(script, this.#layout.counter, this.#layout.base, args, signal === undefined ? { deadline, repeat } : { deadline, repeat, signal });
  }

  /** A read script of `path`, with its own deadline per call (`subscribe`: see {@link WatchHub}). */
  #reader<R extends WatchedReply>(script: Script, path: string, signal: AbortSignal | undefined, decode: (reply: unknown) => R): WatchedRead<R> {
    const deadline = this.#begin(signal);
    let first = true;
    return async (subscribe) => {
      // The first call is the request itself; later ones are the watch's re-checks.
      const until = first ? deadline : monotonicNow() + this.#settings.operationTimeout;
      first = false;
      const options = { deadline: until, repeat: 'always' as const, subscribe, ...(signal === undefined ? {} : { signal }) };
      return decode(await this.#conn.run(script, this.#layout.counter, this.#layout.base, () => [path], options));
    };
  }

  /** A read with a watch (see {@link WatchHub.watch}), bound to the current session. */
  #watched<R extends WatchedReply>(
    path: string,
    kind: 'n' | 'c',
    signal: AbortSignal | undefined,
    read: WatchedRead<R>,
  ): Promise<{ reply: R; changed: Promise<WatchEvent> }> {
    return this.#hub.watch(path, kind, this.#keeper.current, signal, read, () => read(() => undefined));
  }

}

function createArgs(
  mode: 'p' | 's',
  target: string,
  prefix: string,
  data: Uint8Array,
  owner: string,
  requireParent: boolean | undefined,
  ttlMs: number,
  adopt: boolean,
): (string | Buffer)[] {
  const payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return [mode, target, prefix, payload, owner, requireParent === true ? '1' : '0', String(indexTtl(ttlMs)), adopt ? '1' : '0'];
}

function versionArg(version: number | undefined): string {
  if (version === undefined) return '';
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new CoordError('INVALID_ARGUMENT', `redis: version must be an integer >= 0, got ${String(version)}`);
  }
  return String(version);
}

/** A token as the scripts take it: its decimal digits, or '' for none. */
function tokenArg(token: bigint | undefined): string {
  return token === undefined ? '' : token.toString();
}
