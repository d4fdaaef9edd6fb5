/**
 * Double barrier (the ZooKeeper recipe, as Curator's DistributedDoubleBarrier): nobody gets
 * through `enter()` until `count` members are in, nobody through `leave()` until every member
 * of that round has left. One path serves any number of rounds.
 *
 * Entering. A member is an ephemeral sequential node `<path>/m-<count>-<attempt>-<seq>`
 * (`count` in the name lets a newcomer see a disagreement: `CONFLICT`). A round is a range
 * `[first, last]` of member tokens, written once as the persistent marker `<path>/ready-<first>`
 * holding `last` (the arithmetic: `internal/double-barrier-rounds.ts`). A member's round is
 * the marker with the largest `first` at or below its own token, if `last` reaches it; members above that `last` are candidates for the next round.
 * Whoever sees `count` candidates (in its create's listing, or after a wake-up) writes the
 * marker for the first `count` of them; `NODE_EXISTS` arbitrates concurrent writers. A waiter
 * predicts the marker's name from the first candidate and watches two nodes only: the marker
 * (it appears) and that candidate (if it goes, the name changes). So arrivals wake nobody, and
 * the marker wakes each waiter once. A marker is never reused, so a latecomer cannot slip
 * through an old round's marker (Curator's one `ready` node lets it), and it outlives its
 * writer, so a waiter that has not seen it yet is not stranded when the writer moves on.
 *
 * Leaving (`internal/double-barrier-member.ts`), over the members of the round still present:
 * the lowest stays as a sentinel and watches the highest; every other member deletes its node and watches the lowest. Each
 * departure wakes at most the sentinel, and the sentinel's own departure — once it is alone —
 * releases the others together. The sentinel deletes its node, then the marker (never the
 * other way round: a marker gone while a member of its round is still listed would let a
 * newcomer count that member into a new round); a marker whose round died out is removed by
 * whoever next finds it empty.
 *
 * Session loss: a dead member is gone — before its round forms it no longer counts, after it
 * the others stop waiting for it; its handle's `signal` aborts first. An `enter` that times
 * out, is aborted or loses its session deletes its node before it rejects. A `leave` that
 * times out or is aborted has still left (its node is gone) and may be called again to wait
 * for the rest; `leave` is not bound to the session, as it waits only for others.
 *
 * Ranges use fencing tokens rather than sequence numbers: tokens keep increasing even if the
 * backend deletes and re-creates the empty parent directory, sequence numbers may not.
 */
import {
  CoordError,
  EMPTY,
  MAX_SEQUENCE_SUFFIX_LENGTH,
  callSignal,
  checkOptionsObject,
  checkPath,
  checkPositiveInteger,
  checkWaitOptions,
  sequentialBudget,
  startWait,
  isCoordError,
  raceAbort,
  throwIfAborted,
  type Driver,
  type NodeRef,
  type Session,
  type WaitOptions,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { Member, type BarrierMember } from './internal/double-barrier-member.js';
import {
  encodeLast,
  firstRound,
  inRound,
  markerPath,
  memberPrefix,
  membersOf,
  newestMarkerAtOrBelow,
  otherCountMember,
  parseLast,
  type Round,
} from './internal/double-barrier-rounds.js';
import { abandonOwnNode, createOwnSequential, liveSession, throwIfEnded, toError } from './internal/own-node.js';
import { watchStep } from './internal/wait-turn.js';
import { NodeLease } from './lease.js';

export type { BarrierMember } from './internal/double-barrier-member.js';

/** Options of `coord.doubleBarrier(path, options)`. */
export interface DoubleBarrierOptions {
  /** How many members a round needs before anyone gets through `enter` (a positive integer). */
  readonly count: number;
}

/** A double barrier: what `coord.doubleBarrier(path, { count })` returns. No I/O until used. */
export interface DoubleBarrier {
  /** The barrier's path. */
  readonly path: string;
  /** Members per round. */
  readonly count: number;
  /**
   * Enters, and waits until `count` members (this one included) are in.
   * @example
   * ```ts
   * const member = await coord.doubleBarrier('/jobs/run-7', { count: 5 }).enter({ timeout: 30_000 });
   * await compute();
   * await member.leave({ timeout: 30_000 });
   * ```
   * @throws CoordError `TIMEOUT`, `ABORTED`, `SESSION_EXPIRED`, `CLOSED`; `CONFLICT` if a
   *   member already there uses another `count`.
   */
  enter(options?: WaitOptions): Promise<BarrierMember>;
}

/** A {@link DoubleBarrier} over member nodes and per-round markers. */
export class DoubleBarrierRecipe implements DoubleBarrier {
  readonly path: string;
  readonly count: number;
  readonly #driver: Driver;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the barrier's directory (the barrier owns its subtree)
   * @param options `count`: members per round
   * @throws CoordError `INVALID_ARGUMENT` for a malformed, reserved or too long path (its
   *   member and marker nodes must fit under it) or a count that is not a positive safe integer.
   */
  constructor(driver: Driver, path: string, options: DoubleBarrierOptions) {
    this.#what = `double barrier ${typeof path === 'string' && path.length <= 80 ? path : '(path)'}`;
    this.count = checkPositiveInteger(checkOptionsObject(options, this.#what).count, this.#what, 'count');
    const reserve = Math.max(sequentialBudget(memberPrefix(this.count, '').slice(0, -1)), '/ready-'.length + MAX_SEQUENCE_SUFFIX_LENGTH);
    this.path = checkPath(path, 'double barrier path', reserve);
    this.#what = `double barrier ${this.path}`;
    this.#driver = driver;
  }

  async enter(options?: WaitOptions): Promise<BarrierMember> {
    const startedAt = startWait(options, this.#what);
    options = checkWaitOptions(options, this.#what);
    const session = liveSession(this.#driver);
    const { node, siblings } = await this.#join(session);
    using call = callSignal({ ...options, startedAt }, this.#what, session.signal);
    try {
      const round = await this.#awaitRound(node, siblings, call.signal);
      throwIfEnded(session);
      return new Member(this.#driver, this.path, this.count, new NodeLease(this.#driver, node, session, this.#what), round);
    } catch (error) {
      // Our node went with the session if the session did; otherwise remove it ourselves.
      await abandonOwnNode(this.#driver, node, session);
      throw toError(error);
    }
  }

  /** Creates our member node, checking that the members agree on `count` and its owner. */
  async #join(session: Session): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
    const prefix = memberPrefix(this.count, attemptId());
    const { node, siblings } = await createOwnSequential(this.#driver, this.path, prefix, EMPTY, session, this.#what);
    const other = otherCountMember(siblings, this.count);
    if (other !== undefined) {
      await abandonOwnNode(this.#driver, node, session);
      throw new CoordError('CONFLICT', `${this.#what}: count is ${this.count} here, but member ${other.name} uses another count`);
    }
    return { node, siblings };
  }

  /** Decides on listings until `own` is in a complete round, waiting in between. */
  async #awaitRound(own: NodeRef, listing: readonly NodeRef[], signal: AbortSignal): Promise<Round> {
    let nodes = listing;
    for (;;) {
      const decision = await this.#decide(own, nodes);
      if (decision === 'reread') throwIfAborted(signal, this.#what);
      else if ('last' in decision) return decision;
      else {
        const round = await this.#waitForRound(own, decision.head, signal);
        if (round !== undefined) return round;
      }
      nodes = (await this.#driver.children(this.path)).nodes;
    }
  }

  /**
   * One decision on one listing: our round if its marker exists (or we complete it), else
   * the first candidate of the round to wait for, else `reread` (a marker changed under us).
   */
  async #decide(own: NodeRef, nodes: readonly NodeRef[]): Promise<Round | { head: NodeRef } | 'reread'> {
    const members = membersOf(nodes, this.count);
    if (!members.some((node) => node.path === own.path)) {
      throw new CoordError('LOST', `${this.#what}: own node ${own.name} is gone (deleted, or its session ended)`);
    }
    let floor = 0n;
    const first = newestMarkerAtOrBelow(nodes, own.token);
    if (first !== undefined) {
      const last = await this.#readMarker(first);
      if (last === undefined) return 'reread';
      if (own.token <= last) return { first, last };
      floor = last;
      // Nobody of that round is left (its sentinel died): its marker is garbage.
      if (inRound(members, { first, last }).length === 0) await this.#driver.delete(markerPath(this.path, first));
    }
    const candidates = members.filter((node) => node.token > floor);
    const round = firstRound(candidates, this.count);
    if (round === undefined) return { head: candidates[0] as NodeRef }; // `own` is a candidate
    return this.#writeMarker(own, round);
  }

  /** Writes the marker of `round`; our round if it admits us, else `reread`. */
  async #writeMarker(own: NodeRef, round: Round): Promise<Round | 'reread'> {
    try {
      await this.#driver.create(markerPath(this.path, round.first), encodeLast(round.last));
    } catch (error) {
      if (isCoordError(error, 'NODE_EXISTS')) return 'reread'; // written by another member: read its range
      throw error;
    }
    return own.token <= round.last ? round : 'reread';
  }

  /**
   * Waits for the marker of the round that starts at `head`, or for `head` to go (the round
   * would then start elsewhere). Returns our round, or undefined to decide again.
   */
  async #waitForRound(own: NodeRef, head: NodeRef, signal: AbortSignal): Promise<Round | undefined> {
    for (;;) {
      const seen = await watchStep(signal, (watchSignal) => this.#watchRound(own, head, signal, watchSignal));
      if (seen !== 'waited') return seen;
    }
  }

  /**
   * One watched look: our round (or undefined) if the marker or `head`'s absence settles it,
   * else `waited` once one of the two watches fired.
   */
  async #watchRound(own: NodeRef, head: NodeRef, signal: AbortSignal, watchSignal: AbortSignal): Promise<Round | undefined | 'waited'> {
    const marker = markerPath(this.path, head.token);
    const ready = await this.#driver.get(marker, { watch: true, signal: watchSignal });
    if (ready.node !== undefined) {
      const last = parseLast(ready.node.data, marker);
      return own.token <= last ? { first: head.token, last } : undefined;
    }
    const wakes = [ready.changed];
    if (head.path !== own.path) {
      const first = await this.#driver.get(head.path, { watch: true, signal: watchSignal });
      if (first.node === undefined) return undefined;
      wakes.push(first.changed);
    }
    await raceAbort(Promise.race(wakes), signal, this.#what);
    throwIfAborted(signal, this.#what);
    return 'waited';
  }

  /** The `last` of the round whose marker starts at `first`, or undefined if it is gone. */
  async #readMarker(first: bigint): Promise<bigint | undefined> {
    const path = markerPath(this.path, first);
    const { node } = await this.#driver.get(path);
    return node === undefined ? undefined : parseLast(node.data, path);
  }
}
