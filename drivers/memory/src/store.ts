/**
 * The in-memory "server": a node tree, sessions with TTLs, and one-shot watches. It is the
 * reference implementation of the driver contract, so it is deliberately as strict as the
 * strictest backend: plain nodes carry no seq or token in listings, owners are not listed,
 * ephemeral nodes cannot have children, and a session that is not renewed within its TTL
 * dies with its ephemeral nodes.
 *
 * All operations are synchronous; {@link MemoryDriver} wraps them in promises. Every
 * coordinator of the process that names the same store shares one instance.
 */
import { CoordError, MAX_NODE_DATA_BYTES, baseName, isBytes, monotonicNow, parentPath, type NodeRef, type WatchEvent } from '@coord/core';

/** A stored node. */
interface StoredNode {
  readonly path: string;
  readonly parent: string;
  data: Uint8Array;
  version: number;
  readonly seq: bigint;
  readonly owner: string | undefined;
  /** The reference returned by the create (with token and owner). */
  readonly created: NodeRef;
  /** The reference returned in listings (no owner; no token for plain nodes). */
  readonly listed: NodeRef;
}

/** A session as the store sees it. */
interface StoredSession {
  readonly id: string;
  readonly ttlMs: number;
  timer: NodeJS.Timeout;
  /**
   * Monotonic time at which the session dies. Checked on every use, not only by `timer`:
   * after the process was frozen (a long pause) the timers fire in due order, and a
   * heartbeat due earlier than the expiry must not revive a session a real server would
   * have expired during the pause.
   */
  expiresAt: number;
  /** Whether heartbeats reach the store (a test hook turns this off). */
  renewing: boolean;
  readonly ephemerals: Set<string>;
  /** Tells the owning client, synchronously, before its nodes are deleted. */
  readonly onExpired: () => void;
}

/** A one-shot watch. */
export interface Watcher {
  /** Called at most once. */
  fire(event: WatchEvent): void;
}

/** Counters for tests and benchmarks. */
export interface StoreStats {
  /** Requests served (every driver call that reached the store). */
  readonly requests: number;
  /** Watches fired by a change (not by cancellation or session end). */
  readonly watchFirings: number;
  /** Open sessions. */
  readonly sessions: number;
  /** Armed watches. */
  readonly watches: number;
  /** Nodes, and how many of them are ephemeral. */
  readonly nodes: number;
  readonly ephemeralNodes: number;
}

const SEQUENCE_DIGITS = 10;

/** One in-process coordination store. */
export class MemoryStore {
  readonly name: string;
  #revision = 0n;
  #sessionCounter = 0;
  readonly #nodes = new Map<string, StoredNode>();
  readonly #children = new Map<string, Map<string, StoredNode>>();
  /** Number of nodes strictly below each path, for `NOT_EMPTY` across implied parents. */
  readonly #descendants = new Map<string, number>();
  readonly #sessions = new Map<string, StoredSession>();
  readonly #nodeWatches = new Map<string, Set<Watcher>>();
  readonly #childWatches = new Map<string, Set<Watcher>>();
  #requests = 0;
  #watchFirings = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Current counters. */
  stats(): StoreStats {
    let watches = 0;
    for (const set of this.#nodeWatches.values()) watches += set.size;
    for (const set of this.#childWatches.values()) watches += set.size;
    let ephemeralNodes = 0;
    for (const session of this.#sessions.values()) ephemeralNodes += session.ephemerals.size;
    return {
      requests: this.#requests,
      watchFirings: this.#watchFirings,
      sessions: this.#sessions.size,
      watches,
      nodes: this.#nodes.size,
      ephemeralNodes,
    };
  }

  /** Counts one request (the driver calls this once per operation). */
  countRequest(): void {
    this.#requests += 1;
  }

  // ---- sessions -------------------------------------------------------------------------

  /** Opens a session that dies `ttlMs` after its last renewal. */
  openSession(ttlMs: number, onExpired: () => void): string {
    this.#sessionCounter += 1;
    const id = `${this.name}:${this.#sessionCounter.toString(16)}:${Math.random().toString(16).slice(2, 10)}`;
    const session: StoredSession = {
      id,
      ttlMs,
      timer: setTimeout(() => this.expireSession(id), ttlMs),
      expiresAt: monotonicNow() + ttlMs,
      renewing: true,
      ephemerals: new Set(),
      onExpired,
    };
    this.#sessions.set(id, session);
    return id;
  }

  /**
   * Renews a session: it now dies `ttlMs` from now. Returns whether the heartbeat reached
   * the store (false while a test stopped renewals).
   * @throws CoordError `SESSION_EXPIRED` if the session is gone.
   */
  renewSession(id: string): boolean {
    const session = this.#liveSession(id);
    if (!session.renewing) return false;
    clearTimeout(session.timer);
    session.timer = setTimeout(() => this.expireSession(id), session.ttlMs);
    session.expiresAt = monotonicNow() + session.ttlMs;
    return true;
  }

  /** Test hook: heartbeats of this session stop reaching the store (a partition or a pause). */
  stopRenewing(id: string): void {
    const session = this.#sessions.get(id);
    if (session !== undefined) session.renewing = false;
  }

  /** Whether the session is alive. */
  hasSession(id: string): boolean {
    return this.#alive(this.#sessions.get(id)) !== undefined;
  }

  /**
   * Expires a session now: its owner is told first (synchronously), then its ephemeral
   * nodes are deleted and their watchers notified. No-op for an unknown session.
   */
  expireSession(id: string): void {
    const session = this.#sessions.get(id);
    if (session === undefined) return;
    this.#endSession(session);
    session.onExpired();
    this.#deleteEphemerals(session);
  }

  /** Ends a session on its owner's request, deleting its ephemeral nodes. */
  closeSession(id: string): void {
    const session = this.#sessions.get(id);
    if (session === undefined) return;
    this.#endSession(session);
    this.#deleteEphemerals(session);
  }

  /**
   * A client gave up on its session (its local deadline passed). The store hears it only if
   * the client can reach it: while renewals are stopped (a simulated partition) this does
   * nothing and the session lives out its TTL, as on a real server.
   */
  abandonSession(id: string): void {
    if (this.#sessions.get(id)?.renewing === true) this.closeSession(id);
  }

  #endSession(session: StoredSession): void {
    clearTimeout(session.timer);
    this.#sessions.delete(session.id);
  }

  #deleteEphemerals(session: StoredSession): void {
    for (const path of session.ephemerals) {
      const node = this.#nodes.get(path);
      if (node !== undefined) this.#remove(node);
    }
    session.ephemerals.clear();
  }

  /** The session if it is alive; one past its time is expired now (see `expiresAt`). */
  #alive(session: StoredSession | undefined): StoredSession | undefined {
    if (session === undefined || monotonicNow() < session.expiresAt) return session;
    this.expireSession(session.id);
    return undefined;
  }

  #liveSession(id: string): StoredSession {
    const session = this.#alive(this.#sessions.get(id));
    if (session === undefined) throw new CoordError('SESSION_EXPIRED', `memory ${this.name}: session ${id} has expired`);
    return session;
  }

  // ---- nodes ----------------------------------------------------------------------------

  /** Creates a plain node; with `requireParent`, only under an existing (explicit) node. */
  create(path: string, data: Uint8Array, ephemeralOwner: string | undefined, requireParent = false): NodeRef {
    if (this.#nodes.has(path)) throw new CoordError('NODE_EXISTS', `memory ${this.name}: ${path} exists`);
    if (requireParent) this.#checkParent(parentPath(path));
    return this.#insert(path, data, ephemeralOwner, 0n);
  }

  /** Creates `dir/<prefix><seq>` and returns it with the directory's children. */
  createSequential(dir: string, prefix: string, data: Uint8Array, ephemeralOwner: string | undefined, requireParent = false): {
    node: NodeRef;
    siblings: NodeRef[];
  } {
    if (requireParent) this.#checkParent(dir);
    const seq = this.#revision + 1n;
    const name = `${prefix}${seq.toString().padStart(SEQUENCE_DIGITS, '0')}`;
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const node = this.#insert(path, data, ephemeralOwner, seq);
    return { node, siblings: this.children(dir) };
  }

  /** `NO_NODE` unless `dir` is the root or a node (an implied parent does not count: the strictest reading). */
  #checkParent(dir: string): void {
    if (dir !== '/' && !this.#nodes.has(dir)) {
      throw new CoordError('NO_NODE', `memory ${this.name}: parent ${dir} does not exist`);
    }
  }

  #insert(path: string, data: Uint8Array, owner: string | undefined, seq: bigint): NodeRef {
    checkData(data, path);
    const parent = parentPath(path);
    if (this.#nodes.get(parent)?.owner !== undefined) {
      throw new CoordError('INVALID_ARGUMENT', `memory ${this.name}: ${parent} is ephemeral and cannot have children`);
    }
    if (owner !== undefined && (this.#descendants.get(path) ?? 0) > 0) {
      throw new CoordError('INVALID_ARGUMENT', `memory ${this.name}: ${path} has children, so it cannot be ephemeral`);
    }
    const session = owner === undefined ? undefined : this.#liveSession(owner);
    this.#revision += 1n;
    const token = this.#revision;
    const name = baseName(path);
    const created: NodeRef = Object.freeze(owner === undefined ? { path, name, seq, token } : { path, name, seq, token, owner });
    const listed: NodeRef = Object.freeze({ path, name, seq, token: seq === 0n ? 0n : token });
    const node: StoredNode = { path, parent, data: copyBytes(data), version: 0, seq, owner, created, listed };
    this.#nodes.set(path, node);
    let siblings = this.#children.get(parent);
    if (siblings === undefined) this.#children.set(parent, (siblings = new Map()));
    siblings.set(name, node);
    this.#countDescendant(path, +1);
    session?.ephemerals.add(path);
    this.#fire(this.#nodeWatches, path);
    this.#fire(this.#childWatches, parent);
    return created;
  }

  /** Reads a node (a copy of its data). */
  get(path: string): { data: Uint8Array; version: number; owner: string | undefined } | undefined {
    const node = this.#nodes.get(path);
    return node === undefined ? undefined : { data: copyBytes(node.data), version: node.version, owner: node.owner };
  }

  /** Lists a directory: sequential children by seq, then plain children by name. */
  children(dir: string): NodeRef[] {
    const map = this.#children.get(dir);
    if (map === undefined) return [];
    const sequential: NodeRef[] = [];
    const plain: NodeRef[] = [];
    // Insertion order is creation order, and seq grows with creation: no sort needed.
    for (const node of map.values()) (node.seq === 0n ? plain : sequential).push(node.listed);
    if (plain.length === 0) return sequential;
    plain.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return sequential.concat(plain);
  }

  /** Replaces data; returns the new version. With `token`, only the node its create returned it for. */
  set(path: string, data: Uint8Array, version: number | undefined, token?: bigint): number {
    checkData(data, path);
    checkToken(token, path);
    const node = this.#nodes.get(path);
    if (node === undefined) throw new CoordError('NO_NODE', `memory ${this.name}: ${path} does not exist`);
    if (token !== undefined && node.created.token !== token) {
      throw new CoordError('NO_NODE', `memory ${this.name}: ${path} is not the node of token ${token} (it was re-created)`);
    }
    checkVersion(node, version, this.name);
    node.data = copyBytes(data);
    node.version += 1;
    this.#fire(this.#nodeWatches, path);
    return node.version;
  }

  /** Deletes a node; false if absent, or if `token` is given and names another node (a re-created one). */
  delete(path: string, version: number | undefined, token?: bigint): boolean {
    checkToken(token, path);
    const node = this.#nodes.get(path);
    if (node === undefined) return false;
    if (token !== undefined && node.created.token !== token) return false;
    checkVersion(node, version, this.name);
    if ((this.#descendants.get(path) ?? 0) > 0) {
      throw new CoordError('NOT_EMPTY', `memory ${this.name}: ${path} has children`);
    }
    this.#remove(node);
    return true;
  }

  #remove(node: StoredNode): void {
    this.#nodes.delete(node.path);
    const siblings = this.#children.get(node.parent);
    siblings?.delete(baseName(node.path));
    if (siblings?.size === 0) this.#children.delete(node.parent);
    this.#countDescendant(node.path, -1);
    if (node.owner !== undefined) this.#sessions.get(node.owner)?.ephemerals.delete(node.path);
    this.#fire(this.#nodeWatches, node.path);
    this.#fire(this.#childWatches, node.parent);
  }

  #countDescendant(path: string, delta: number): void {
    for (let dir = parentPath(path); ; dir = parentPath(dir)) {
      const count = (this.#descendants.get(dir) ?? 0) + delta;
      if (count === 0) this.#descendants.delete(dir);
      else this.#descendants.set(dir, count);
      if (dir === '/') break;
    }
  }

  // ---- watches --------------------------------------------------------------------------

  /** Arms a one-shot watch on a node (create, set, delete). Returns its disarm function. */
  watchNode(path: string, watcher: Watcher): () => void {
    return arm(this.#nodeWatches, path, watcher);
  }

  /** Arms a one-shot watch on a directory's child list. Returns its disarm function. */
  watchChildren(dir: string, watcher: Watcher): () => void {
    return arm(this.#childWatches, dir, watcher);
  }

  #fire(registry: Map<string, Set<Watcher>>, path: string): void {
    const watchers = registry.get(path);
    if (watchers === undefined) return;
    registry.delete(path);
    for (const watcher of watchers) {
      this.#watchFirings += 1;
      watcher.fire('changed');
    }
  }
}

function arm(registry: Map<string, Set<Watcher>>, path: string, watcher: Watcher): () => void {
  let watchers = registry.get(path);
  if (watchers === undefined) registry.set(path, (watchers = new Set()));
  watchers.add(watcher);
  return () => {
    const current = registry.get(path);
    if (current === undefined || !current.delete(watcher)) return;
    if (current.size === 0) registry.delete(path);
  };
}

/** A plain copy: `Buffer.prototype.slice` would return a view sharing memory with the caller. */
function copyBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

function checkData(data: Uint8Array, path: string): void {
  if (!isBytes(data)) {
    throw new CoordError('INVALID_ARGUMENT', `memory: data for ${path} must be a Uint8Array`);
  }
  if (data.byteLength > MAX_NODE_DATA_BYTES) {
    throw new CoordError(
      'PAYLOAD_TOO_LARGE',
      `memory: data for ${path} is ${data.byteLength} bytes; the limit is ${MAX_NODE_DATA_BYTES}`,
    );
  }
}

function checkToken(token: bigint | undefined, path: string): void {
  if (token !== undefined && (typeof token !== 'bigint' || token <= 0n)) {
    throw new CoordError('INVALID_ARGUMENT', `memory: token for ${path} must be a positive bigint (a create's token), got ${String(token)}`);
  }
}

function checkVersion(node: StoredNode, expected: number | undefined, store: string): void {
  if (expected !== undefined && node.version !== expected) {
    throw new CoordError('BAD_VERSION', `memory ${store}: ${node.path} is at version ${node.version}, not ${expected}`);
  }
}

const stores = new Map<string, MemoryStore>();

/** The process-wide store of that name (created on first use). */
export function storeNamed(name: string): MemoryStore {
  let store = stores.get(name);
  if (store === undefined) stores.set(name, (store = new MemoryStore(name)));
  return store;
}
