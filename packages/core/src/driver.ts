/**
 * The driver interface: the one seam between recipes and backends.
 *
 * It is ZooKeeper's model — a tree of nodes, ephemeral nodes owned by a session, sequential
 * nodes ordered by creation, one-shot watches — and every driver (memory, ZooKeeper, etcd,
 * Redis) maps it onto its backend. Recipes are written against this file only.
 *
 * Paths are absolute (`/a/b`), relative to the driver's namespace (chroot / key prefix), and
 * validated with {@link validatePath} before any request is sent. A node's parent need not
 * exist: drivers create (or imply) parents as needed. Recipes must not `get` a directory
 * they did not create explicitly, nor create a node at a path already used as an implied
 * parent, because backends differ on whether implied parents are visible (ZooKeeper makes
 * container nodes; etcd and Redis have no parents at all).
 */

/**
 * Largest node payload every driver accepts, in bytes. ZooKeeper's own limit is about 1 MB
 * (`jute.maxbuffer`, which it enforces by dropping the connection) and etcd's 1.5 MiB, so one
 * limit below both keeps the backends interchangeable. Larger data fails with
 * `PAYLOAD_TOO_LARGE` before any request is sent.
 */
export const MAX_NODE_DATA_BYTES = 1_000_000;

/** The backends Coord knows. */
export type BackendName = 'memory' | 'zookeeper' | 'etcd' | 'redis';

/** What a backend can promise; recipes and tests branch on these, never on the driver name. */
export interface Capabilities {
  /** Reads and writes are linearizable (ZooKeeper writes, etcd, memory; Redis only without failover). */
  readonly linearizable: boolean;
  /** Fencing tokens keep increasing across a failover of the backend (false for Redis replicas). */
  readonly tokensSurviveFailover: boolean;
}

/** The life cycle of a session. `expired` and `closed` are terminal. */
export type SessionState = 'connected' | 'suspended' | 'expired' | 'closed';

/**
 * A session: the lifetime that ephemeral nodes (and so every held handle) are bound to.
 * A session is never revived once `expired` or `closed`; the driver opens a fresh one for
 * later calls and reports it through {@link Driver.onSessionState}.
 */
export interface Session {
  /** The backend's session id (ZooKeeper session id, etcd lease id, a random id elsewhere). */
  readonly id: string;
  /** The session timeout the server granted, in milliseconds. */
  readonly ttlMs: number;
  /** The current state. */
  readonly state: SessionState;
  /**
   * Aborted as soon as this session **may** be over: expired on the server's word, or its
   * local deadline passed (the send time of the last acknowledged renewal, on a monotonic
   * clock, plus the granted TTL, minus a safety margin), or closed. Its `reason` is a
   * `CoordError` with code `SESSION_EXPIRED` or `CLOSED`.
   */
  readonly signal: AbortSignal;
}

/** A session state transition, as reported by {@link Driver.onSessionState}. */
export interface SessionStateChange {
  /** The session that changed. */
  readonly session: Session;
  /** Its state before. */
  readonly previous: SessionState;
  /** Its state now. */
  readonly state: SessionState;
}

/** A reference to a node, as returned by creates and listings. */
export interface NodeRef {
  /** Absolute path of the node inside the namespace. */
  readonly path: string;
  /** The last segment of `path`. */
  readonly name: string;
  /**
   * Creation order inside the directory: strictly increasing for nodes made by
   * {@link Driver.createSequential}. `0n` for nodes made by {@link Driver.create}.
   */
  readonly seq: bigint;
  /**
   * Fencing token: strictly greater for every later sequential node of the same directory,
   * even if the backend deleted and re-created an empty parent in between. For a plain node
   * it is set on the {@link Driver.create} result (greater for every later create of the same
   * path) and `0n` in listings.
   */
  readonly token: bigint;
  /**
   * The owning session id of an ephemeral node. Set on the result of a create; listings may
   * leave it out (ZooKeeper's getChildren does not report owners).
   */
  readonly owner?: string;
}

/** A node's content, as returned by {@link Driver.get}. */
export interface NodeData {
  /** Absolute path of the node inside the namespace. */
  readonly path: string;
  /** The node's data. */
  readonly data: Uint8Array;
  /** Data version: 0 after create, +1 for every `set`. */
  readonly version: number;
  /** The owning session id if the node is ephemeral. */
  readonly owner?: string;
}

/**
 * Why a watch's `changed` promise resolved. It never rejects, so an unobserved watch cannot
 * cause an unhandled rejection; the caller re-reads to learn what actually happened.
 * - `changed`: the watched node or child set changed after the read.
 * - `session`: the session ended (expired or closed); the next call will say which.
 * - `cancelled`: the watch's `signal` aborted; the driver dropped the watch.
 */
export type WatchEvent = 'changed' | 'session' | 'cancelled';

/** Options of a read. */
export interface ReadOptions {
  /** Also return a one-shot `changed` promise for the next change after this read. */
  readonly watch?: boolean;
  /**
   * Cancels the request and, once it is armed, the watch (`changed` resolves `'cancelled'`
   * and the driver forgets it), so an abandoned wait leaks nothing.
   */
  readonly signal?: AbortSignal;
}

/** Options of a create. */
export interface CreateOptions {
  /** Bind the node to the current session: it is deleted when the session ends. */
  readonly ephemeral?: boolean;
  /**
   * Fail with `NO_NODE` unless the parent already exists as a node (the root `/` always
   * does), checked atomically with the create: ZooKeeper's plain create without making
   * parents; etcd, a Txn comparing the parent key; Redis, a check inside the create script.
   * Without it parents are implied, so a create under a node someone just deleted would
   * bring that node's path back to life; a recipe whose children must only exist under a
   * live parent (group members under their group) sets this. Use it only under parents the
   * recipe created explicitly: whether an implied parent counts differs between backends.
   */
  readonly requireParent?: boolean;
}

/** Options of a conditional write or delete. */
export interface VersionOptions {
  /** Apply only if the node's data version equals this; else `BAD_VERSION`. */
  readonly version?: number;
  /**
   * Apply only to the node whose create returned this token (a sequential node's token in a
   * listing is the same): a node at `path` made by a later create is another node, and the
   * call behaves as if the node were missing — `delete` returns false, `set` throws
   * `NO_NODE` — leaving it alone. The check is atomic with the write (etcd: a Txn comparing
   * the key's create revision; Redis: inside the script). Checked before `version`. A delete
   * or set of a node at a path that gets reused (a queue claim, a group member) passes the
   * token of the node it created, which also lets the driver repeat it safely after a lost
   * reply (see {@link Driver}).
   * @throws `INVALID_ARGUMENT` unless positive (a plain node's listing token `0n` names no node).
   */
  readonly token?: bigint;
}

/** The result of {@link Driver.createSequential}. */
export interface SequentialCreated {
  /** The node just created. */
  readonly node: NodeRef;
  /** Every child of the directory right after the create, sorted by `seq`, including `node`. */
  readonly siblings: readonly NodeRef[];
}

/** The result of {@link Driver.get}. */
export interface GetResult {
  /** The node, or undefined if it does not exist. */
  readonly node?: NodeData;
  /** With `watch`: resolves on the next create, `set` or delete of the node after this read. */
  readonly changed?: Promise<WatchEvent>;
}

/** The result of {@link Driver.children}. */
export interface ChildrenResult {
  /** The directory's children, sequential ones sorted by `seq` (plain ones after, by name). */
  readonly nodes: readonly NodeRef[];
  /** With `watch`: resolves on the next create or delete of a child after this read. */
  readonly changed?: Promise<WatchEvent>;
}

/**
 * A backend, seen through ZooKeeper's model. Every method has a deadline (the URL's
 * `operationTimeout`) and rejects with a `CoordError`; a method called on a closed driver
 * rejects with `CLOSED`, and one whose session expired mid-call rejects with
 * `SESSION_EXPIRED`.
 *
 * Drivers retry their own transient failures (connection loss) while the session lives, but
 * a write whose request may have reached the backend (its reply was lost: the outcome is
 * unknown) is repeated only where a repeat cannot touch another node:
 * - reads, always;
 * - a create: the driver recovers a lost reply by finding the node by its name (which the
 *   caller makes unique per attempt), so a recipe never sees a duplicate node;
 * - a `set` or `delete`: ONLY when the caller passed `options.token`. Without it the repeat
 *   could hit a node someone created at the same path after the first request was applied
 *   (a nack's repeated delete removing the next consumer's claim), and `version` alone does
 *   not tell that node from ours (both may be at version 0). So without a token the driver
 *   rejects with `CONNECTION_LOSS` and the caller, which knows what the path holds, decides.
 * A request the driver knows was never sent may always be sent again.
 */
export interface Driver {
  /** Which backend this is. */
  readonly name: BackendName;
  /** What this backend can promise. */
  readonly capabilities: Capabilities;
  /**
   * The current session. After the session expires this returns the expired session until
   * the driver has opened a new one; recipes capture it once per operation and bind their
   * handles to it.
   */
  readonly session: Session;
  /**
   * Creates a plain node. Atomic: it exists afterwards with `data`, version 0.
   * @throws `NODE_EXISTS` if the path exists; `NO_NODE` if `requireParent` and the parent does
   *   not exist; `PAYLOAD_TOO_LARGE`; `INVALID_ARGUMENT` for a bad path.
   */
  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<NodeRef>;
  /**
   * Creates `dir/<prefix><sequence>` and lists the directory, atomically where the backend
   * can (one request on etcd and Redis, two on ZooKeeper). `prefix` should carry a
   * per-attempt unique id so a create whose reply was lost can be found and adopted.
   * @throws `NO_NODE` if `requireParent` and `dir` does not exist; `PAYLOAD_TOO_LARGE`;
   *   `INVALID_ARGUMENT` for a bad directory or prefix.
   */
  createSequential(
    dir: string,
    prefix: string,
    data: Uint8Array,
    options?: CreateOptions,
  ): Promise<SequentialCreated>;
  /** Reads a node; with `watch`, also its next change (no gap between the read and the watch). */
  get(path: string, options?: ReadOptions): Promise<GetResult>;
  /**
   * Lists a directory's direct children; with `watch`, also the next change of that list.
   * A directory that has no children, or was never created, lists as empty (and can be
   * watched: the watch fires when its first child appears).
   */
  children(dir: string, options?: ReadOptions): Promise<ChildrenResult>;
  /**
   * Replaces a node's data and returns the new version.
   * @throws `NO_NODE` (also if `options.token` names another node than the one at `path`);
   *   `BAD_VERSION` if `options.version` does not match; `CONNECTION_LOSS` if the outcome is
   *   unknown and the call had no `token` to repeat it safely.
   */
  set(path: string, data: Uint8Array, options?: VersionOptions): Promise<number>;
  /**
   * Deletes a node. Returns false if it did not exist, or if `options.token` names another
   * node than the one at `path` (which is left alone). A repeat of an unconditional delete
   * is NOT harmless at a path that gets reused: it deletes whatever was created there
   * meanwhile — pass `token` to delete only the node you created.
   * @throws `BAD_VERSION`; `NOT_EMPTY` if it has children; `CONNECTION_LOSS` if the outcome
   *   is unknown and the call had no `token` to repeat it safely.
   */
  delete(path: string, options?: VersionOptions): Promise<boolean>;
  /**
   * Subscribes to session state transitions (including the switch to a fresh session after
   * an expiry). Returns the unsubscribe function.
   */
  onSessionState(listener: (change: SessionStateChange) => void): () => void;
  /**
   * Ends the session (its ephemeral nodes go at once), aborts its signal with `CLOSED`,
   * rejects pending calls with `CLOSED` and releases every timer, watch and socket.
   * Idempotent.
   */
  close(): Promise<void>;
}

/** Settings every driver receives from the URL and `connect` options. */
export interface DriverSettings {
  /** Requested session timeout, ms. */
  readonly sessionTimeout: number;
  /** Deadline for establishing the first session, ms. */
  readonly connectTimeout: number;
  /** Deadline of every request, ms. */
  readonly operationTimeout: number;
}
