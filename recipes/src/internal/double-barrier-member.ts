/**
 * The member handle of the double barrier (`double-barrier.ts`) and its leave protocol. Over
 * the members of the round still present, the lowest stays as a sentinel and watches the
 * highest; every other member deletes its node and watches the lowest. Each departure wakes
 * at most the sentinel, and the sentinel's own departure — once it is alone — releases the
 * others together. The sentinel deletes its node, then the round's marker (never the other
 * way round: while a member of the round is listed its marker must exist, or a newcomer would
 * count that member into a new round); so does anyone who finds the marker orphaned. `leave` is not bound to the session (it waits only
 * for others); an abandoned leave has still left.
 */
import { callSignal, checkWaitOptions, startWait, type Driver, type NodeRef, type WaitOptions } from '@coord/core';
import type { NodeLease } from '../lease.js';
import { inRound, markerPath, membersOf, type Round } from './double-barrier-rounds.js';
import { toError } from './own-node.js';
import { untilGone } from './wait-turn.js';

/** A member inside a double barrier: what `enter()` returns. Disposing it leaves without waiting. */
export interface BarrierMember extends AsyncDisposable {
  /** The member node's fencing token. */
  readonly token: bigint;
  /** Aborted once this member is no longer in: it left, its session may be over, or its node was deleted. */
  readonly signal: AbortSignal;
  /** Whether a `leave()` has completed. */
  readonly left: boolean;
  /**
   * Leaves, and waits until every member of the round has left; resolves at once after one
   * completed. On `TIMEOUT`/`ABORTED` the member has still left (its node is gone), and a
   * new call waits for the others again. A call while one is pending joins it.
   * @example `await member.leave({ timeout: 30_000 })`
   * @throws CoordError `TIMEOUT`, `ABORTED`, `CLOSED`.
   */
  leave(options?: WaitOptions): Promise<void>;
}

/** A member of one round; its node is held by a lease (token, signal, idempotent delete). */
export class Member implements BarrierMember {
  readonly #driver: Driver;
  readonly #path: string;
  readonly #count: number;
  readonly #lease: NodeLease;
  readonly #round: Round;
  #leaving: Promise<void> | undefined;
  #left = false;

  /**
   * @param path the barrier's directory
   * @param count members per round
   * @param lease the lease of our member node
   * @param round the round we entered with
   */
  constructor(driver: Driver, path: string, count: number, lease: NodeLease, round: Round) {
    this.#driver = driver;
    this.#path = path;
    this.#count = count;
    this.#lease = lease;
    this.#round = round;
  }

  get token(): bigint {
    return this.#lease.token;
  }

  get signal(): AbortSignal {
    return this.#lease.signal;
  }

  get left(): boolean {
    return this.#left;
  }

  leave(options?: WaitOptions): Promise<void> {
    let checked: WaitOptions;
    try {
      checked = checkWaitOptions(options, `double barrier ${this.#path}`);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#left) return Promise.resolve();
    this.#leaving ??= this.#leave(checked).finally(() => {
      this.#leaving = undefined;
    });
    return this.#leaving;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#lease.release();
  }

  toJSON(): { node: string; token: string; round: string; left: boolean } {
    return { node: this.#lease.node.path, token: this.token.toString(), round: `${this.#round.first}..${this.#round.last}`, left: this.#left };
  }

  /** The leave loop: on every listing, be the sentinel or wait for it. */
  async #leave(options: WaitOptions): Promise<void> {
    const what = `double barrier ${this.#path}`;
    const startedAt = startWait(options, what);
    using call = callSignal({ ...options, startedAt }, what);
    try {
      while (!(await this.#leaveStep(call.signal, what))) {
        // Woken by the member we watched: read the round again.
      }
    } catch (error) {
      // An abandoned leave still leaves: a member that stops waiting must not block the others.
      await this.#lease.release().catch(() => undefined);
      throw toError(error);
    }
  }

  /**
   * One listing of the round: alone, leave for good (true); the lowest, keep watch on the
   * highest as the sentinel; otherwise delete our node and watch the sentinel.
   */
  async #leaveStep(signal: AbortSignal, what: string): Promise<boolean> {
    const driver = this.#driver;
    const own = this.#lease.node.path;
    const { nodes } = await driver.children(this.#path);
    const inside = inRound(membersOf(nodes, this.#count), this.#round);
    const others = inside.filter((node) => node.path !== own);
    if (others.length === 0) {
      // The sentinel removes the marker; so does anyone who finds it orphaned. Node first:
      // a marker must not vanish while a member of its round is still listed.
      const marker = markerPath(this.#path, this.#round.first);
      const markerLive = inside.length > 0 || nodes.some((node) => node.path === marker);
      await this.#lease.release();
      if (markerLive) await driver.delete(marker);
      this.#left = true;
      return true;
    }
    if (inside[0]?.path === own) {
      await untilGone(driver, (others[others.length - 1] as NodeRef).path, signal, what);
    } else {
      await this.#lease.release();
      await untilGone(driver, (others[0] as NodeRef).path, signal, what);
    }
    return false;
  }
}
