/**
 * The ZooKeeper driver: the Coord driver contract on the Apache ZooKeeper C client (through
 * the `zookeeper` npm package). Requests per operation (the README has the table):
 * `create` 2, `createSequential` 2, `get`/`children` 2 (a `sync` sent with the read, which
 * makes it see writes made through other members; `get` with a watch 3), `set`/`delete` 1
 * (+2 with a `token`, except a delete of a sequential ephemeral node this session made).
 */
import {
  CoordError,
  baseName,
  abortReason,
  callSignal,
  checkNodeData,
  checkNodeToken,
  isCoordError,
  joinPath,
  linkSignals,
  throwIfAborted,
  validateName,
  validatePath,
  type Capabilities,
  type ChildrenResult,
  type ConnectionConfig,
  type CreateOptions,
  type Driver,
  type GetResult,
  type ManagedSession,
  type NodeData,
  type NodeRef,
  type ReadOptions,
  type SequentialCreated,
  type Session,
  type SessionStateChange,
  type VersionOptions,
  ListenerSet,
} from '@coord/core';
import { toCoordError } from './errors.js';
import { CreateFlag, EventType, type Stat } from './native.js';
import {
  Namespace,
  checkSequentialPrefix,
  createdRef,
  listing,
  ownerOf,
  plainToken,
  sequenceOf,
  sequentialToken,
  toBuffer,
} from './nodes.js';
import {
  childrenOf,
  dataOf,
  deleteNode,
  isConnectionLoss,
  operationDeadline,
  setData,
  statOf,
  syncWith,
  withRetries,
  type Call,
} from './requests.js';
import type { Connection } from './connection.js';
import { SessionKeeper } from './session.js';
import { WatchRegistry, type ArmedWatch } from './watches.js';
import { createNode, findAttempt, matchToken, provablyOurs } from './writes.js';

/**
 * A Coord driver on a ZooKeeper ensemble. Open it with {@link createDriver} (or
 * `connect('zookeeper://…')`).
 */
export class ZooKeeperDriver implements Driver {
  readonly name = 'zookeeper' as const;
  readonly capabilities: Capabilities = Object.freeze({ linearizable: true, tokensSurviveFailover: true });
  readonly #config: ConnectionConfig;
  readonly #ns: Namespace;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #watches = new WatchRegistry();
  /** Ephemeral nodes each session created (server path → token), for lost-reply recovery and token deletes. */
  readonly #created = new WeakMap<ManagedSession, Map<string, bigint>>();
  readonly #keeper: SessionKeeper;
  #closed = false;

  private constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#ns = new Namespace(config.namespace);
    this.#keeper = new SessionKeeper(config, this.#ns.root, {
      onChange: (change) => this.#listeners.emit(change),
      onEnded: (session) => this.#watches.endSession(session),
    });
  }

  /**
   * Connects to the ensemble and opens the first session, within `connectTimeout`.
   * @throws CoordError `UNAVAILABLE` (no server answered), `AUTH_FAILED`.
   */
  static async connect(config: ConnectionConfig): Promise<ZooKeeperDriver> {
    const driver = new ZooKeeperDriver(config);
    await driver.#keeper.start();
    return driver;
  }

  get session(): Session {
    return this.#keeper.view;
  }

  /** The current session's password, hexadecimal: for test fault hooks that take over a session. */
  sessionPassword(): string {
    return this.#keeper.password();
  }

  async create(path: string, data: Uint8Array, options: CreateOptions = {}): Promise<NodeRef> {
    validatePath(path);
    if (path === '/') throw new CoordError('INVALID_ARGUMENT', `zookeeper: cannot create the root`);
    checkNodeData(data, path, 'zookeeper');
    const ephemeral = options.ephemeral === true;
    return this.#run(`create ${path}`, undefined, async (call) => {
      const server = this.#ns.toServer(path);
      let unknown = false;
      await withRetries(call, async () => {
        try {
          await createNode(call, server, data, ephemeral ? CreateFlag.EPHEMERAL : CreateFlag.PERSISTENT, options.requireParent === true, this.#ns.root);
        } catch (error) {
          if (isConnectionLoss(error)) unknown = true;
          else if (unknown && isCoordError(error, 'NODE_EXISTS') && (await provablyOurs(call, server, ephemeral, this.#createdBy(call.conn.session).get(server)))) return;
          throw error;
        }
      });
      const stat = await withRetries(call, () => statOf(call, server));
      if (stat === undefined) {
        throw new CoordError('NO_NODE', `zookeeper ${this.#config.redacted}: ${path} was deleted before its token could be read`);
      }
      const token = plainToken(stat);
      if (ephemeral) this.#createdBy(call.conn.session).set(server, token);
      return createdRef(path, 0n, token, ownerOf(stat));
    });
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions = {}): Promise<SequentialCreated> {
    validatePath(dir, 'directory');
    if (prefix !== '') validateName(prefix, 'prefix');
    const badPrefix = checkSequentialPrefix(prefix);
    if (badPrefix !== undefined) throw new CoordError('INVALID_ARGUMENT', `zookeeper: prefix ${JSON.stringify(prefix)} ${badPrefix}`);
    checkNodeData(data, joinPath(dir, prefix), 'zookeeper');
    const ephemeral = options.ephemeral === true;
    const flags = CreateFlag.SEQUENCE | (ephemeral ? CreateFlag.EPHEMERAL : CreateFlag.PERSISTENT);
    return this.#run(`createSequential ${joinPath(dir, prefix)}`, undefined, async (call) => {
      const serverDir = this.#ns.toServer(dir);
      let unknown = false;
      const made = await withRetries(call, async () => {
        if (unknown) {
          // Curator's protected mode: the lost create may have made our node; find it by
          // the caller's per-attempt prefix, and adopt it only if this session owns it.
          const adopted = await findAttempt(call, serverDir, prefix, ephemeral);
          if (adopted !== undefined) return adopted;
        }
        try {
          return await createNode(call, joinPath(serverDir, prefix), data, flags, options.requireParent === true, this.#ns.root);
        } catch (error) {
          // Without a prefix a retry could not tell our node from another: outcome unknown.
          if (isConnectionLoss(error) && prefix !== '') unknown = true;
          else if (isConnectionLoss(error)) throw new CoordError('CONNECTION_LOSS', `${call.label}: outcome unknown (reply lost)`, { cause: error });
          throw error;
        }
      });
      const listed = await withRetries(call, () => childrenOf(call, serverDir));
      if (listed === undefined) {
        throw new CoordError('NO_NODE', `${call.label}: the directory vanished right after the create`);
      }
      const name = baseName(made);
      const seq = sequenceOf(name);
      const token = sequentialToken(listed.stat, seq);
      if (ephemeral) this.#createdBy(call.conn.session).set(made, token);
      const node = createdRef(joinPath(dir, name), seq, token, ephemeral ? call.conn.session.id : undefined);
      return { node, siblings: listing(dir, listed.names, listed.stat) };
    });
  }

  async get(path: string, options: ReadOptions = {}): Promise<GetResult> {
    validatePath(path);
    return this.#run(`get ${path}`, options.signal, async (call) => {
      const server = this.#ns.toServer(path);
      if (options.watch !== true) {
        const [, got] = await withRetries(call, () => Promise.all([syncWith(call, server), dataOf(call, server)]));
        return got === undefined ? {} : { node: nodeData(path, got.stat, got.data) };
      }
      const watch = this.#watches.arm(call.conn.session, options.signal);
      try {
        // `getData` sets a watch only on a node that exists, `exists` also on a missing one
        // (it fires when the node is created). Both are sent at once — one round trip,
        // which matters to a waiter racing the creation it waits for — with one watcher;
        // the server keeps one watch for the path. Processed in order: if the node came or
        // went between the two, the watch fires for it and the caller re-reads.
        const [, , got] = await withRetries(call, () =>
          Promise.all([syncWith(call, server), statOf(call, server, watch.watcher), dataOf(call, server, watch.watcher)]),
        );
        return got === undefined ? { changed: watch.changed } : { node: nodeData(path, got.stat, got.data), changed: watch.changed };
      } catch (error) {
        watch.settle('cancelled');
        throw error;
      }
    });
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    return this.#run(`children ${dir}`, options.signal, async (call) => {
      const server = this.#ns.toServer(dir);
      if (options.watch !== true) {
        const [, listed] = await withRetries(call, () => Promise.all([syncWith(call, server), childrenOf(call, server)]));
        return { nodes: listed === undefined ? [] : listing(dir, listed.names, listed.stat) };
      }
      // A missing directory is watched with `exists`, which fires when the directory is
      // created — by the first child's create, one request before the child itself exists.
      // That event re-arms the watch on the children instead of waking the caller early.
      const conn = call.conn;
      const watch = this.#watches.arm(conn.session, options.signal, (type) => {
        if (type !== EventType.CREATED) return false;
        void this.#watchNewDirectory(conn, server, watch);
        return true;
      });
      try {
        for (;;) {
          const [, listed] = await withRetries(call, () => Promise.all([syncWith(call, server), childrenOf(call, server, watch.watcher)]));
          if (listed !== undefined) return { nodes: listing(dir, listed.names, listed.stat), changed: watch.changed };
          // No directory yet: watch for its creation (it is created with its first child).
          const seen = await withRetries(call, () => statOf(call, server, watch.watcher));
          if (seen === undefined) return { nodes: [], changed: watch.changed };
        }
      } catch (error) {
        watch.settle('cancelled');
        throw error;
      }
    });
  }

  /**
   * A watched directory was created: watch its children, and settle at once if it already
   * has some. Runs outside any caller's call, under the operation deadline and the session;
   * on any failure the watch settles `changed` and the caller re-reads.
   */
  async #watchNewDirectory(conn: Connection, server: string, watch: ArmedWatch): Promise<void> {
    const what = `watching ${this.#ns.fromServer(server)}`;
    const label = `zookeeper ${this.#config.redacted}: ${what}`;
    const timeout = this.#config.settings.operationTimeout;
    using deadline = callSignal({ timeout }, label);
    using linked = linkSignals(deadline.signal, conn.session.signal);
    const call: Call = { conn, signal: linked.signal, timeout, label, fail: (rc) => toCoordError(rc, { url: this.#config.redacted, what }) };
    try {
      while (!watch.settled) {
        const listed = await withRetries(call, () => childrenOf(call, server, watch.watcher));
        if (listed !== undefined) {
          if (listed.names.length > 0) watch.settle('changed');
          return;
        }
        // Gone again before we looked: wait for the next creation (or settle if it is back).
        if ((await withRetries(call, () => statOf(call, server, watch.watcher))) === undefined) return;
      }
    } catch {
      watch.settle('changed');
    }
  }

  /**
   * {@inheritDoc Driver.set}
   * With `token`, the driver first reads the node's stat (a sequential node: its
   * directory's) and compares it with the token, then writes conditioned on the version it
   * read: ZooKeeper cannot condition a write on a node's creation, so this is two requests,
   * not one atomic step (see the README).
   */
  async set(path: string, data: Uint8Array, options: VersionOptions = {}): Promise<number> {
    validatePath(path);
    checkNodeData(data, path, 'zookeeper');
    const token = checkNodeToken(options.token, path, 'zookeeper');
    return this.#run(`set ${path}`, undefined, async (call) => {
      const server = this.#ns.toServer(path);
      if (token === undefined) {
        const stat = await this.#once(call, () => setData(call, server, toBuffer(data), options.version ?? -1));
        return stat.version;
      }
      return withRetries(call, async () => {
        const check = await matchToken(call, server, token, options.version);
        if (!check.match) throw new CoordError('NO_NODE', `${call.label}: the node of token ${token} is gone`);
        return (await setData(call, server, toBuffer(data), check.version)).version;
      });
    });
  }

  /**
   * {@inheritDoc Driver.delete}
   * With `token`, the delete is repeated after a lost reply until it is confirmed or the
   * session ends; the token check is a read before the delete (not atomic, see the README).
   */
  async delete(path: string, options: VersionOptions = {}): Promise<boolean> {
    validatePath(path);
    const token = checkNodeToken(options.token, path, 'zookeeper');
    return this.#run(`delete ${path}`, undefined, async (call) => {
      const server = this.#ns.toServer(path);
      const created = this.#createdBy(call.conn.session);
      if (token === undefined) {
        const deleted = await this.#once(call, () => deleteNode(call, server, options.version ?? -1));
        created.delete(server);
        return deleted;
      }
      let unknown = false;
      const deleted = await withRetries(call, async () => {
        const check = await matchToken(call, server, token, options.version, created.get(server));
        if (!check.match) return unknown; // ours is gone — by our own lost delete, if one was sent
        try {
          return (await deleteNode(call, server, check.version)) || unknown;
        } catch (error) {
          if (isConnectionLoss(error) || isCoordError(error, 'TIMEOUT')) unknown = true;
          throw error;
        }
      }, true);
      created.delete(server);
      return deleted;
    });
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#keeper.close();
  }

  toJSON(): { name: string; url: string; session: string } {
    return { name: this.name, url: this.#config.redacted, session: this.#keeper.view.id };
  }

  // ---- calls ----------------------------------------------------------------------------

  /**
   * Runs one driver call bound to the current session (waiting for a fresh one if the last
   * expired), under the operation deadline (docs/design.md D10: every wait in the call ends
   * with it, so a call settles within `operationTimeout` even with the ensemble down), and
   * maps every failure to a `CoordError`.
   */
  async #run<T>(what: string, userSignal: AbortSignal | undefined, body: (call: Call) => Promise<T>): Promise<T> {
    if (this.#closed) throw new CoordError('CLOSED', `zookeeper ${this.#config.redacted}: ${what}: driver is closed`);
    const label = `zookeeper ${this.#config.redacted}: ${what}`;
    using deadline = operationDeadline(this.#config.settings.operationTimeout, label, () => this.#keeper.connected);
    // A caller's signal is linked as it is, so its reason (a recipe's SESSION_EXPIRED, a
    // plain abort as ABORTED) is what the call rejects with.
    // The session's signal (aborted with CLOSED by close()) ends calls; a call still waiting
    // for a fresh session ends when the opening is given up on close.
    using outer = linkSignals(userSignal, deadline.signal);
    try {
      throwIfAborted(outer.signal, label);
      const conn = await this.#keeper.connection(outer.signal);
      using linked = linkSignals(outer.signal, conn.session.signal);
      const call: Call = {
        conn,
        signal: linked.signal,
        timeout: this.#config.settings.operationTimeout,
        label,
        fail: (rc) => toCoordError(rc, { url: this.#config.redacted, what }),
      };
      try {
        return await body(call);
      } catch (error) {
        // p-retry rejects with the signal's raw reason; give it the shape every caller expects.
        if (linked.signal.aborted && error === linked.signal.reason) throw abortReason(linked.signal, label);
        throw error;
      }
    } catch (error) {
      if (outer.signal.aborted && error === outer.signal.reason) throw abortReason(outer.signal, label);
      throw toCoordError(error, { url: this.#config.redacted, what });
    }
  }

  /** A write that is not repeated: a lost reply is reported as `CONNECTION_LOSS` (outcome unknown). */
  async #once<R>(call: Call, send: () => Promise<R>): Promise<R> {
    try {
      return await send();
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      throw new CoordError('CONNECTION_LOSS', `${call.label}: outcome unknown (reply lost); not repeated without a token`, { cause: error });
    }
  }

  #createdBy(session: ManagedSession): Map<string, bigint> {
    let created = this.#created.get(session);
    if (created === undefined) this.#created.set(session, (created = new Map()));
    return created;
  }
}

function nodeData(path: string, stat: Stat, data: Buffer | null): NodeData {
  const bytes = data === null ? new Uint8Array(0) : new Uint8Array(data);
  const owner = ownerOf(stat);
  return owner === undefined ? { path, data: bytes, version: stat.version } : { path, data: bytes, version: stat.version, owner };
}
