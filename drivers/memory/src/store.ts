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
import { CoordError, baseName, checkNodeData, checkNodeToken, parentPath, type NodeRef, type WatchEvent } from '@coord/core';
import { SessionTable, type StoredSession } from './store-sessions.js';

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
  readonly #nodes = new Map<string, StoredNode>();
  readonly #children = new Map<string, Map<string, StoredNode>>();
  /** Number of nodes strictly below each path, for `NOT_EMPTY` across implied parents. */
  readonly #descendants = new Map<string, number>();
  readonly #sessions: SessionTable;
  readonly #nodeWatches = new Map<string, Set<Watcher>>();
  readonly #childWatches = new Map<string, Set<Watcher>>();
  #requests = 0;
  #watchFirings = 0;

  constructor(name: string) {
    this.name = name;
    this.#sessions = new SessionTable(name, (session) => this.#deleteEphemerals(session));
  }

  /** Current counters. */
  stats(): StoreStats {
    let watches = 0;
    for (const set of this.#nodeWatches.values()) watches += set.size;
    for (const set of this.#childWatches.values()) watches += set.size;
    let ephemeralNodes = 0;
    for (const session of this.#sessions.all()) ephemeralNodes += session.ephemerals.size;
    return {
      requests: this.#requests,
      watchFirings: this.#watchFirings,
      sessions: [...this.#sessions.all()].length,
      watches,
      nodes: this.#nodes.size,
      ephemeralNodes,
    };
  }

  /** Counts one request (the driver calls this once per operation). */
  countRequest(): void {
    this.#requests += 1;
  }

  // ---- sessions: see SessionTable (store-sessions.ts) for what each does ------------------

  /** Opens a session that dies `ttlMs` after its last renewal ({@link SessionTable.open}). */
  openSession(ttlMs: number, onExpired: () => void): string {
    return this.#sessions.open(ttlMs, onExpired);
  }

  /** {@link SessionTable.renew}. @throws CoordError `SESSION_EXPIRED` if the session is gone. */
  renewSession(id: string): boolean {
    return this.#sessions.renew(id);
  }

  /** Test hook: {@link SessionTable.stopRenewing}. */
  stopRenewing(id: string): void {
    this.#sessions.stopRenewing(id);
  }

  /** Whether the session is alive. */
  hasSession(id: string): boolean {
    return this.#sessions.has(id);
  }

  /** {@link SessionTable.expire}: the owner is told first, then its ephemeral nodes go. */
  expireSession(id: string): void {
    this.#sessions.expire(id);
  }

  /** {@link SessionTable.close}: on the owner's request. */
  closeSession(id: string): void {
    this.#sessions.close(id);
  }

  /** {@link SessionTable.abandon}: the client gave up on its session. */
  abandonSession(id: string): void {
    this.#sessions.abandon(id);
  }

  #deleteEphemerals(session: StoredSession): void {
    for (const path of session.ephemerals) {
      const node = this.#nodes.get(path);
      if (node !== undefined) this.#remove(node);
    }
    session.ephemerals.clear();
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
    checkNodeData(data, path, `memory ${this.name}`);
    const parent = parentPath(path);
    if (this.#nodes.get(parent)?.owner !== undefined) {
      throw new CoordError('INVALID_ARGUMENT', `memory ${this.name}: ${parent} is ephemeral and cannot have children`);
    }
    if (owner !== undefined && (this.#descendants.get(path) ?? 0) > 0) {
      throw new CoordError('INVALID_ARGUMENT', `memory ${this.name}: ${path} has children, so it cannot be ephemeral`);
    }
    const session = owner === undefined ? undefined : this.#sessions.live(owner);
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
    checkNodeData(data, path, `memory ${this.name}`);
    checkNodeToken(token, path, `memory ${this.name}`);
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
    checkNodeToken(token, path, `memory ${this.name}`);
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
