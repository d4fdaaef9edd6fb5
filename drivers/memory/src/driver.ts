/**
 * The memory driver: a client of a {@link MemoryStore}. This file holds the node operations;
 * the session life cycle is the {@link SessionKeeper}'s (`session.ts`), the armed watches the
 * {@link WatchHub}'s (`watches.ts`) — the three rooms every driver has.
 */
import {
  CoordError,
  DEFAULT_SETTINGS,
  abortReason,
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
  ListenerSet,
} from '@coord/core';
import { SessionKeeper } from './session.js';
import type { MemoryStore } from './store.js';
import { WatchHub } from './watches.js';

/** A driver over an in-process {@link MemoryStore}. */
export class MemoryDriver implements Driver {
  readonly name = 'memory' as const;
  readonly capabilities: Capabilities = Object.freeze({ linearizable: true, tokensSurviveFailover: true });
  /** The store this driver talks to (shared by every driver naming it). */
  readonly store: MemoryStore;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #watches = new WatchHub();
  readonly #keeper: SessionKeeper;
  #closed = false;

  constructor(store: MemoryStore, settings: DriverSettings = DEFAULT_SETTINGS) {
    this.store = store;
    this.#keeper = new SessionKeeper(store, settings, {
      onChange: (change) => this.#listeners.emit(change),
      onEnded: (session) => this.#watches.endSession(session),
    });
    this.#keeper.start();
  }

  get session(): Session {
    return this.#keeper.current;
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
    const changed = this.#watches.arm(this.#keeper.current, options.signal, (watcher) => this.store.watchNode(path, watcher));
    return node === undefined ? { changed } : { node, changed };
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    this.#checkSignal(options.signal, dir);
    this.#request(false);
    const nodes = this.store.children(dir);
    if (options.watch !== true) return { nodes };
    const changed = this.#watches.arm(this.#keeper.current, options.signal, (watcher) => this.store.watchChildren(dir, watcher));
    return { nodes, changed };
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
    this.#keeper.close();
  }

  /** Test hook: the store expires the current session now (its owner is told first). */
  expireSession(): void {
    this.store.expireSession(this.#keeper.current.id);
  }

  /**
   * Test hook: the current session's heartbeats stop reaching the store, as in a partition
   * or a long pause. The local deadline aborts the session's signal first; the store expires
   * it one safety margin later.
   */
  stopRenewing(): void {
    this.store.stopRenewing(this.#keeper.current.id);
  }

  toJSON(): { name: string; store: string; session: string } {
    return { name: this.name, store: this.store.name, session: this.#keeper.current.id };
  }

  // ---- internals ------------------------------------------------------------------------

  /** Admits one request; returns the owner id for an ephemeral create. */
  #request(ephemeral: boolean | undefined): string | undefined {
    if (this.#closed) throw new CoordError('CLOSED', 'memory: driver is closed');
    this.store.countRequest();
    return ephemeral === true ? this.#keeper.current.id : undefined;
  }

  #checkSignal(signal: AbortSignal | undefined, path: string): void {
    if (signal?.aborted) throw abortReason(signal, `memory: read of ${path}`);
  }
}
