/**
 * Distributed lock: FIFO mutual exclusion, not re-entrant.
 *
 * Protocol: each attempt creates an ephemeral sequential node `<path>/lock-<attempt>-<seq>`
 * (one request on etcd and Redis, two on ZooKeeper, which also returns the siblings). The
 * node with the lowest sequence holds the lock. A waiter watches only its immediate
 * predecessor and, when that node goes, re-reads the directory and decides again — so one
 * release wakes one waiter. An uncontended acquire is one create; a release is one delete.
 *
 * Session loss: the nodes are ephemeral, so a dead holder's node goes with its session and
 * the next waiter proceeds. The holder's `signal` aborts when its session may be over, which
 * the session reports before the server could expire it (see `Lease`). A waiter whose session
 * ends rejects with `SESSION_EXPIRED`; a waiter that times out or is aborted deletes its own
 * node before it rejects, so an abandoned wait leaves nothing behind.
 */
import {
  EMPTY,
  callSignal,
  checkCallback,
  checkPath,
  checkWaitOptions,
  sequentialBudget,
  startWait,
  type Driver,
  type NodeRef,
  type Session,
  type WaitOptions,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { abandonOwnNode, createOwnSequential, liveSession, throwIfEnded, toError } from './internal/own-node.js';
import { everyEarlierNode, nearestBlocker, waitForTurn, type BlockerTest } from './internal/wait-turn.js';
import { NodeLease, withLease, type Lease } from './lease.js';

/** A lock: what `coord.lock(path)` returns. Creating one does no I/O. */
export interface Lock {
  /** The lock's path. */
  readonly path: string;
  /**
   * Waits for the lock, in FIFO order.
   * @example
   * ```ts
   * await using held = await coord.lock('/stack/42').acquire({ timeout: 5_000 });
   * await updateStack({ fencingToken: held.token, signal: held.signal });
   * ```
   * @throws CoordError `TIMEOUT`, `ABORTED`, `SESSION_EXPIRED`, `CLOSED`.
   */
  acquire(options?: WaitOptions): Promise<Lease>;
  /**
   * Takes the lock if nobody holds or waits for it; otherwise returns `undefined` at once.
   * @throws CoordError `SESSION_EXPIRED`, `CLOSED`.
   */
  tryAcquire(): Promise<Lease | undefined>;
  /**
   * Runs `fn` while holding the lock and releases it afterwards, even if `fn` throws.
   * @example `await lock.withLock(async (held) => update(held.token), { timeout: 5_000 })`
   * @throws whatever `acquire` or `fn` throws.
   */
  withLock<T>(fn: (held: Lease) => T | Promise<T>, options?: WaitOptions): Promise<T>;
}

/** How a queue-based lock names its nodes and decides who blocks whom. */
export interface LockKind {
  /** The node name prefix (before the attempt id), e.g. `lock`. */
  readonly prefix: string;
  /** Which earlier siblings block a node of this kind. */
  readonly blocks: BlockerTest;
  /** For messages: `lock`, `read lock`... */
  readonly label: string;
  /**
   * The room (in characters) the recipe's nodes need past the path, when more than this
   * kind's own node (`sequentialBudget(prefix + '-')`): a read-write lock reserves for its
   * longest kind on both sides.
   */
  readonly reserve?: number;
}

const MUTEX: LockKind = { prefix: 'lock', blocks: everyEarlierNode, label: 'lock' };

/** A lock over a queue of ephemeral sequential nodes; the mutex, and the base of rwlock. */
export class LockRecipe implements Lock {
  readonly path: string;
  readonly #driver: Driver;
  readonly #kind: LockKind;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the lock's directory (the lock owns its subtree)
   * @param kind node naming and blocking rule (default: a plain mutex)
   * @throws CoordError `INVALID_ARGUMENT` for a malformed or reserved path, or one too long
   *   for the lock's own node names (see `checkPath`).
   */
  constructor(driver: Driver, path: string, kind: LockKind = MUTEX) {
    const reserve = Math.max(kind.reserve ?? 0, sequentialBudget(`${kind.prefix}-`));
    this.path = checkPath(path, `${kind.label} path`, reserve);
    this.#driver = driver;
    this.#kind = kind;
    this.#what = `${kind.label} ${path}`;
  }

  /**
   * {@link Lock.acquire}, with an optional payload stored in the queue node (an election
   * candidate's value), readable by anyone who lists the queue.
   */
  async acquire(options?: WaitOptions, data: Uint8Array = EMPTY): Promise<Lease> {
    const startedAt = startWait(options, this.#what);
    options = checkWaitOptions(options, this.#what);
    const session = liveSession(this.#driver);
    const { node, siblings } = await this.#enqueue(session, data);
    // Free at once: grant even if the timeout elapsed during the create (the lock is ours).
    // The wait's timers and signals are only built when there is something to wait for.
    if (nearestBlocker(node, siblings, this.#kind.blocks, this.#what) === undefined && !session.signal.aborted) {
      return new NodeLease(this.#driver, node, session, this.#what);
    }
    using call = callSignal({ ...options, startedAt }, this.#what, session.signal);
    try {
      await waitForTurn({ driver: this.#driver, dir: this.path, what: this.#what }, node, siblings, this.#kind.blocks, call.signal);
      throwIfEnded(session);
      return new NodeLease(this.#driver, node, session, this.#what);
    } catch (error) {
      await abandonOwnNode(this.#driver, node, session);
      throw toError(error);
    }
  }

  async tryAcquire(): Promise<Lease | undefined> {
    const session = liveSession(this.#driver);
    const { node, siblings } = await this.#enqueue(session, EMPTY);
    if (nearestBlocker(node, siblings, this.#kind.blocks, this.#what) === undefined && !session.signal.aborted) {
      return new NodeLease(this.#driver, node, session, this.#what);
    }
    await abandonOwnNode(this.#driver, node, session);
    throwIfEnded(session);
    return undefined;
  }

  async withLock<T>(fn: (held: Lease) => T | Promise<T>, options?: WaitOptions): Promise<T> {
    checkCallback(fn, this.#what, 'fn');
    return withLease(this.acquire(options), fn);
  }

  /** Creates our queue node, owned by the session we bind the lease to. */
  #enqueue(session: Session, data: Uint8Array): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
    const prefix = `${this.#kind.prefix}-${attemptId()}-`;
    return createOwnSequential(this.#driver, this.path, prefix, data, session, this.#what);
  }
}
