/**
 * The memory driver: a client of a {@link MemoryStore}, with the same session discipline as
 * the network drivers — a heartbeat every third of the TTL, a local deadline that aborts the
 * session's signal before the store could expire it, and a fresh session after an expiry.
 */
import {
  CoordError,
  DEFAULT_SETTINGS,
  ManagedSession,
  abortReason,
  monotonicNow,
  validateName,
  validatePath,
  type Capabilities,
  type ChildrenResult,
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
  oneShotWatch,
} from '@coord/core';
import type { MemoryStore } from './store.js';

/** An armed watch, remembered so a session's end can resolve it. */
interface ArmedWatch {
  readonly session: ManagedSession;
  settle(event: WatchEvent): void;
}

/** A driver over an in-process {@link MemoryStore}. */
export class MemoryDriver implements Driver {
  readonly name = 'memory' as const;
  readonly capabilities: Capabilities = Object.freeze({ linearizable: true, tokensSurviveFailover: true });
  /** The store this driver talks to (shared by every driver naming it). */
  readonly store: MemoryStore;
  readonly #settings: DriverSettings;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #watches = new Set<ArmedWatch>();
  #session: ManagedSession;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: MemoryStore, settings: DriverSettings = DEFAULT_SETTINGS) {
    this.store = store;
    this.#settings = settings;
    this.#session = this.#openSession();
  }

  get session(): Session {
    return this.#session;
  }

  async create(path: string, data: Uint8Array, options: CreateOptions = {}): Promise<NodeRef> {
    validatePath(path);
    if (path === '/') throw new CoordError('INVALID_ARGUMENT', 'memory: cannot create the root');
    const owner = this.#request(options.ephemeral);
    return this.store.create(path, data, owner, options.requireParent === true);
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions = {}): Promise<SequentialCreated> {
    validatePath(dir, 'directory');
    if (prefix !== '') validateName(prefix, 'prefix');
    const owner = this.#request(options.ephemeral);
    return this.store.createSequential(dir, prefix, data, owner, options.requireParent === true);
  }

  async get(path: string, options: ReadOptions = {}): Promise<GetResult> {
    validatePath(path);
    this.#checkSignal(options.signal, path);
    this.#request(false);
    const found = this.store.get(path);
    const node = found === undefined ? undefined : found.owner === undefined
      ? { path, data: found.data, version: found.version }
      : { path, data: found.data, version: found.version, owner: found.owner };
    if (options.watch !== true) return node === undefined ? {} : { node };
    const changed = this.#arm(options.signal, (watcher) => this.store.watchNode(path, watcher));
    return node === undefined ? { changed } : { node, changed };
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    this.#checkSignal(options.signal, dir);
    this.#request(false);
    const nodes = this.store.children(dir);
    if (options.watch !== true) return { nodes };
    return { nodes, changed: this.#arm(options.signal, (watcher) => this.store.watchChildren(dir, watcher)) };
  }

  async set(path: string, data: Uint8Array, options: VersionOptions = {}): Promise<number> {
    validatePath(path);
    this.#request(false);
    return this.store.set(path, data, options.version, options.token);
  }

  async delete(path: string, options: VersionOptions = {}): Promise<boolean> {
    validatePath(path);
    this.#request(false);
    return this.store.delete(path, options.version, options.token);
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    const session = this.#session;
    this.store.closeSession(session.id);
    session.close();
    this.#settleWatches(session);
  }

  /** Test hook: the store expires the current session now (its owner is told first). */
  expireSession(): void {
    this.store.expireSession(this.#session.id);
  }

  /**
   * Test hook: the current session's heartbeats stop reaching the store, as in a partition
   * or a long pause. The local deadline aborts the session's signal first; the store expires
   * it one safety margin later.
   */
  stopRenewing(): void {
    this.store.stopRenewing(this.#session.id);
  }

  toJSON(): { name: string; store: string; session: string } {
    return { name: this.name, store: this.store.name, session: this.#session.id };
  }

  // ---- internals ------------------------------------------------------------------------

  /** Admits one request; returns the owner id for an ephemeral create. */
  #request(ephemeral: boolean | undefined): string | undefined {
    if (this.#closed) throw new CoordError('CLOSED', 'memory: driver is closed');
    this.store.countRequest();
    return ephemeral === true ? this.#session.id : undefined;
  }

  #checkSignal(signal: AbortSignal | undefined, path: string): void {
    if (signal?.aborted) throw abortReason(signal, `memory: read of ${path}`);
  }

  #arm(signal: AbortSignal | undefined, register: (watcher: { fire(event: WatchEvent): void }) => () => void): Promise<WatchEvent> {
    const session = this.#session;
    const watch = oneShotWatch(signal, () => {
      disarm();
      this.#watches.delete(armed);
    });
    const armed: ArmedWatch = { session, settle: (event) => watch.settle(event) };
    const disarm = register({ fire: armed.settle });
    this.#watches.add(armed);
    return watch.changed;
  }

  #settleWatches(session: ManagedSession): void {
    for (const watch of this.#watches) if (watch.session === session) watch.settle('session');
  }

  #openSession(): ManagedSession {
    const ttl = this.#settings.sessionTimeout;
    const openedAt = monotonicNow();
    const id = this.store.openSession(ttl, () => this.#sessionLost(session, 'expired on the store'));
    const session = new ManagedSession(id, ttl, openedAt, (change) => this.#listeners.emit(change), (lost) =>
      this.#sessionLost(lost, 'passed its local deadline without a renewal'),
    );
    this.#startHeartbeat(session);
    return session;
  }

  #startHeartbeat(session: ManagedSession): void {
    this.#heartbeat = setInterval(() => {
      const sentAt = monotonicNow();
      if (!this.store.hasSession(session.id)) return;
      if (this.store.renewSession(session.id)) session.renewed(sentAt);
    }, Math.max(1, Math.floor(session.ttlMs / 3)));
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #sessionLost(session: ManagedSession, why: string): void {
    if (session !== this.#session || session.ended) return;
    this.#stopHeartbeat();
    session.expire(why);
    this.#settleWatches(session);
    // A client that gave up on its session tells the store, if the store can hear it.
    this.store.abandonSession(session.id);
    if (this.#closed) return;
    this.#session = this.#openSession();
    this.#listeners.emit({ session: this.#session, previous: 'expired', state: 'connected' });
  }

}
