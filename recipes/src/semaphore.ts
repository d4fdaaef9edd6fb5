/**
 * Semaphore: at most `permits` holders at once (Curator's InterProcessSemaphoreV2 design).
 *
 * Protocol: a permit is an ephemeral sequential lease node `<path>/leases/lease-p<permits>-
 * <attempt>-<seq>`. A lease node is admitted when fewer than `permits` lease nodes precede it
 * in the directory's listing. That is safe without any lock: of any `permits + 1` live
 * admitted nodes, the latest one would have seen the others ahead of it. And it is stable:
 * later nodes never push an earlier one out, so admitted holders stay admitted.
 * - Fast path: create a lease node; if the listing that comes with the create admits it,
 *   hold. An uncontended acquire is one create and a release one delete.
 * - Otherwise delete that node (left in place while its owner queues, it would count ahead
 *   of the lock holder's later node, and `permits` of them would block it for good) and
 *   queue on an internal lock `<path>/locks` (`LockRecipe`). Its holder — one waiter at a
 *   time — creates a fresh lease node and watches the leases directory, re-reading after
 *   every change, until its node is admitted; then it releases the internal lock for the
 *   next waiter. Only that one waiter watches the permits, so a release wakes one waiter
 *   (plus one lock hand-off), never a herd. Its lease node, ahead of any later fast-path
 *   node, keeps the next free permit for it.
 * - Fairness: waiters are served in FIFO order, except that an acquire finding a permit free
 *   takes it at once, which can overtake a waiter in the middle of its lock hand-off.
 * - The permit count is part of every lease node's name, so each acquirer sees the others'
 *   counts in the listing it reads anyway: one that finds an earlier node with a different
 *   count deletes its own nodes and rejects with `CONFLICT` instead of over-admitting.
 * - A permit's token is its lease node's: unique, increasing in request order (with one
 *   permit, every later holder's is larger).
 *
 * Session loss: lease nodes are ephemeral, so a dead holder's permit returns with its
 * session (its node's deletion wakes the waiter holding the internal lock). A holder's
 * `signal` aborts before the server could expire the session. A waiter that times out, is
 * aborted or fails deletes its lease node and releases the internal lock before rejecting.
 */
import {
  CoordError,
  EMPTY,
  abortReason,
  callSignal,
  checkCallback,
  checkOptionsObject,
  checkPath,
  checkPositiveInteger,
  checkWaitOptions,
  sequentialBudget,
  startWait,
  joinPath,
  raceAbort,
  throwIfAborted,
  type Driver,
  type NodeRef,
  type Session,
  type WaitOptions,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { abandonOwnNode, createOwnSequential, liveSession, throwIfEnded, toError } from './internal/own-node.js';
import { everyEarlierNode, watchStep } from './internal/wait-turn.js';
import { NodeLease, withLease, type Lease } from './lease.js';
import { LockRecipe, type Lock } from './lock.js';

/** Options of a semaphore. */
export interface SemaphoreOptions {
  /** How many holders at once: a positive safe integer, the same for every client. */
  readonly permits: number;
}

/** What `coord.semaphore(path, { permits })` returns. Creating one does no I/O. */
export interface Semaphore extends Lock {
  /** The number of permits. */
  readonly permits: number;
  /**
   * Waits for a permit (FIFO among waiters).
   * @example
   * ```ts
   * await using permit = await coord.semaphore('/render', { permits: 3 }).acquire({ timeout: 5_000 });
   * ```
   * @throws CoordError `TIMEOUT`, `ABORTED`, `SESSION_EXPIRED`, `CLOSED`; `CONFLICT` if
   *   another client uses this semaphore with a different permit count.
   */
  acquire(options?: WaitOptions): Promise<Lease>;
  /**
   * Takes a permit if one is free and nobody is waiting for it; otherwise returns `undefined`.
   * @throws CoordError `SESSION_EXPIRED`, `CLOSED`, `CONFLICT`.
   */
  tryAcquire(): Promise<Lease | undefined>;
  /**
   * Runs `fn` while holding a permit and releases it afterwards, even if `fn` throws.
   * @example `await sem.withLock(async (permit) => render(permit.signal), { timeout: 5_000 })`
   * @throws whatever `acquire` or `fn` throws.
   */
  withLock<T>(fn: (held: Lease) => T | Promise<T>, options?: WaitOptions): Promise<T>;
}

const LEASE_NAME = /^lease-p(\d+)-/;

/** A {@link Semaphore} of ephemeral lease nodes, with an internal lock to queue waiters. */
export class SemaphoreRecipe implements Semaphore {
  readonly path: string;
  readonly permits: number;
  readonly #driver: Driver;
  readonly #leases: string;
  readonly #queue: LockRecipe;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the semaphore's directory (the semaphore owns its subtree)
   * @param options the permit count
   * @example
   * ```ts
   * const sem = new SemaphoreRecipe(driver, '/render', { permits: 3 });
   * await sem.withLock(async () => render());
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed, reserved or too long path (its
   *   lease and queue nodes must fit under it) or a permit count that is not a positive
   *   safe integer.
   */
  constructor(driver: Driver, path: string, options: SemaphoreOptions) {
    this.#what = `semaphore ${typeof path === 'string' && path.length <= 80 ? path : '(path)'}`;
    this.permits = checkPositiveInteger(checkOptionsObject(options, this.#what).permits, this.#what, 'permits');
    const reserve = Math.max('/leases'.length + sequentialBudget(`lease-p${this.permits}-`), '/locks'.length + sequentialBudget('lock-'));
    this.path = checkPath(path, 'semaphore path', reserve);
    this.#what = `semaphore ${this.path}`;
    this.#driver = driver;
    this.#leases = joinPath(this.path, 'leases');
    this.#queue = new LockRecipe(driver, joinPath(this.path, 'locks'), {
      prefix: 'lock',
      blocks: everyEarlierNode,
      label: 'semaphore queue',
    });
  }

  async acquire(options?: WaitOptions): Promise<Lease> {
    const startedAt = startWait(options, this.#what);
    options = checkWaitOptions(options, this.#what);
    const session = liveSession(this.#driver);
    // Fast path; grant even if the timeout elapsed during the create (the permit is ours).
    const held = await this.#tryLease(session);
    if (held !== undefined) return held;
    using call = callSignal({ ...options, startedAt }, this.#what, session.signal);
    try {
      return await this.#queued(session, call.signal);
    } catch (error) {
      // The internal lock reports our deadline as its own abort: give the caller ours.
      throw call.signal.aborted ? abortReason(call.signal, this.#what) : toError(error);
    }
  }

  async tryAcquire(): Promise<Lease | undefined> {
    return this.#tryLease(liveSession(this.#driver));
  }

  async withLock<T>(fn: (held: Lease) => T | Promise<T>, options?: WaitOptions): Promise<T> {
    checkCallback(fn, this.#what, 'fn');
    return withLease(this.acquire(options), fn);
  }

  /** One lease node, kept if the listing that came with it admits it, else deleted. */
  async #tryLease(session: Session): Promise<Lease | undefined> {
    const { node, siblings } = await this.#createLease(session);
    let admitted: boolean;
    try {
      admitted = this.#admits(node, siblings) && !session.signal.aborted;
    } catch (error) {
      await abandonOwnNode(this.#driver, node, session);
      throw error;
    }
    if (admitted) return new NodeLease(this.#driver, node, session, this.#what);
    await abandonOwnNode(this.#driver, node, session);
    throwIfEnded(session);
    return undefined;
  }

  /** The slow path: hold the internal lock while our lease node waits to be admitted. */
  async #queued(session: Session, signal: AbortSignal): Promise<Lease> {
    const turn = await this.#queue.acquire({ signal });
    let permit: Lease | undefined;
    try {
      const { node, siblings } = await this.#createLease(session);
      try {
        await this.#untilAdmitted(node, siblings, signal);
        throwIfEnded(session);
        permit = new NodeLease(this.#driver, node, session, this.#what);
      } catch (error) {
        await abandonOwnNode(this.#driver, node, session);
        throw error;
      }
    } finally {
      // Our lease node is admitted or gone: the next waiter may take our place. If the
      // queue cannot be released, give the permit back rather than hold it over a stuck queue.
      await turn.release().catch(async (error: unknown) => {
        await permit?.release().catch(() => undefined);
        throw error;
      });
    }
    return permit;
  }

  /**
   * Watches the leases directory until `own` is admitted, re-reading after every change.
   * Only the internal lock's holder runs this, so only one client watches the directory.
   */
  async #untilAdmitted(own: NodeRef, siblings: readonly NodeRef[], signal: AbortSignal): Promise<void> {
    if (this.#admits(own, siblings)) return;
    for (;;) {
      throwIfAborted(signal, this.#what);
      const admitted = await watchStep(signal, async (watchSignal) => {
        const { nodes, changed } = await this.#driver.children(this.#leases, { watch: true, signal: watchSignal });
        if (this.#admits(own, nodes)) return true;
        if (changed !== undefined) await raceAbort(changed, signal, this.#what);
        return false;
      });
      if (admitted) return;
    }
  }

  /**
   * Whether fewer than `permits` lease nodes precede `own` in `nodes`.
   * @throws CoordError `CONFLICT` if an earlier node was made with another permit count;
   *   `LOST` if `own` is gone.
   */
  #admits(own: NodeRef, nodes: readonly NodeRef[]): boolean {
    let ahead = 0;
    for (const node of nodes) {
      if (node.path === own.path) return ahead < this.permits;
      if (node.seq === 0n) continue;
      const permits = LEASE_NAME.exec(node.name)?.[1];
      if (permits !== undefined && Number(permits) !== this.permits) {
        throw new CoordError('CONFLICT', `${this.#what}: created with ${this.permits} permits, but ${node.name} uses ${permits}`);
      }
      ahead += 1;
    }
    throw new CoordError('LOST', `${this.#what}: own lease node ${own.name} is gone (deleted, or its session ended)`);
  }

  /** Creates our lease node, owned by the session we bind the permit to. */
  #createLease(session: Session): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
    const prefix = `lease-p${this.permits}-${attemptId()}-`;
    return createOwnSequential(this.#driver, this.#leases, prefix, EMPTY, session, this.#what);
  }
}
