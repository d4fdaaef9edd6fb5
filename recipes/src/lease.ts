/**
 * The handle of everything held through a node (a lock, a permit, a leadership...): it
 * carries the node's fencing token, a signal that aborts as soon as the hold may be invalid,
 * and an idempotent release.
 *
 * The signal aborts when (a) the session the node is bound to may be over — which the
 * session reports *before* the server could expire it, because its local deadline is the
 * last acknowledged renewal's send time plus the TTL minus a margin — or (b) someone else
 * deleted the node, or (c) the handle is released. The signal and (b)'s watch on the node
 * are set up on the first read of `signal`, so a caller that never looks at it pays no
 * request and no allocation.
 */
import { CoordError, isCoordError, onAbort, sleep, type Driver, type NodeRef, type Session } from '@coord/core';

/** Something held: a lock, a permit, a leadership, a membership... */
export interface Lease extends AsyncDisposable {
  /** Fencing token: strictly greater for every later holder of the same name. */
  readonly token: bigint;
  /** Aborted as soon as this hold may no longer be valid (see the module comment). */
  readonly signal: AbortSignal;
  /** Whether `release()` has completed. */
  readonly released: boolean;
  /**
   * Gives the resource up (deletes the node). Idempotent; does not throw after the hold was
   * lost (the node went with its session).
   * @throws CoordError `UNAVAILABLE`/`TIMEOUT` if the backend could not confirm the delete
   *   while the session is alive; the handle then stays held and `release()` may be retried.
   */
  release(): Promise<void>;
}

const SELF_WATCH_RETRY_MS = 200;
const STOP = Symbol('stop');

/** A {@link Lease} backed by one ephemeral node. */
export class NodeLease implements Lease {
  readonly token: bigint;
  /** The node this lease holds. */
  readonly node: NodeRef;
  readonly #driver: Driver;
  readonly #session: Session;
  readonly #what: string;
  #controller: AbortController | undefined;
  #watchStop: AbortController | undefined;
  /** Detaches from the session's signal (one shared listener for every lease: `onAbort`). */
  #detachSession: (() => void) | undefined;
  /** Set once the hold is over; makes the abort reason (errors are built only when needed). */
  #lost: (() => unknown) | undefined;
  #releasing: Promise<void> | undefined;
  #released = false;

  /**
   * @param driver the driver that created `node`
   * @param node the held node (ephemeral, owned by `session`)
   * @param session the session `node` is bound to
   * @param what for messages: `lock /stack/42`
   */
  constructor(driver: Driver, node: NodeRef, session: Session, what: string) {
    this.#driver = driver;
    this.node = node;
    this.token = node.token;
    this.#session = session;
    this.#what = what;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) this.#startSignal();
    return (this.#controller as AbortController).signal;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): Promise<void> {
    this.#releasing ??= this.#release().catch((error: unknown) => {
      this.#releasing = undefined; // still held: let the caller retry
      throw error;
    });
    return this.#releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  toJSON(): { what: string; token: string; node: string; released: boolean } {
    return { what: this.#what, token: this.token.toString(), node: this.node.path, released: this.#released };
  }

  #startSignal(): void {
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#lost === undefined && this.#session.signal.aborted) this.#lost = () => this.#session.signal.reason;
    if (this.#lost !== undefined) {
      controller.abort(this.#lost());
      return;
    }
    this.#detachSession = onAbort(this.#session.signal, this.#onSessionEnd);
    this.#watchStop = new AbortController();
    void this.#watchOwnNode(this.#watchStop.signal);
  }

  readonly #onSessionEnd = (): void => this.#lose(() => this.#session.signal.reason);

  async #release(): Promise<void> {
    // Our own delete must not read as "deleted by someone else".
    this.#watchStop?.abort(STOP);
    // Nothing to delete once the session is dead or the watch saw the node go: at a reused
    // name (a group member id) the path may already hold someone else's node.
    if (!this.#session.signal.aborted && this.#lost === undefined) {
      try {
        // Conditional on our node's token: at a reused name (a queue claim, a group member)
        // a delete repeated after a lost reply must not remove the next holder's node.
        await this.#driver.delete(this.node.path, { token: this.node.token });
      } catch (error) {
        // The node went with its session: nothing left to release.
        if (!this.#session.signal.aborted) throw error;
      }
    }
    this.#released = true;
    this.#lose(() => new CoordError('ABORTED', `${this.#what}: released`));
  }

  #lose(reason: () => unknown): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    if (this.#controller === undefined) return;
    this.#detachSession?.();
    this.#watchStop?.abort(STOP);
    this.#controller.abort(reason());
  }

  /** Aborts the signal if someone else deletes the node. Never rejects. */
  async #watchOwnNode(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        const { node, changed } = await this.#driver.get(this.node.path, { watch: true, signal: stop });
        if (stop.aborted) return;
        if (node === undefined || node.owner !== this.#session.id) {
          this.#lose(() => new CoordError('LOST', `${this.#what}: node ${this.node.name} was deleted by someone else`));
          return;
        }
        await changed;
      } catch (error) {
        if (stop.aborted || this.#session.signal.aborted || !isCoordError(error)) return;
        // A transient read failure proves nothing about the hold; look again shortly.
        await sleep(SELF_WATCH_RETRY_MS, stop).catch(() => undefined);
      }
    }
  }
}

/**
 * Runs `fn` with the lease `held` resolves to and releases it afterwards, even if `fn`
 * throws: the body of every recipe's `withLock`.
 * @throws whatever `held` rejects with, `fn` throws or the release throws.
 */
export async function withLease<T>(held: Promise<Lease>, fn: (held: Lease) => T | Promise<T>): Promise<T> {
  const lease = await held;
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
