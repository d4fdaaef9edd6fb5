/**
 * Double barrier (the ZooKeeper recipe, as Curator's DistributedDoubleBarrier): nobody gets
 * through `enter()` until `count` members are in, and nobody gets through `leave()` until
 * every member of that round has left. The same path serves any number of rounds.
 *
 * Protocol. A member is an ephemeral sequential node `<path>/m-<count>-<attempt>-<seq>`
 * (`count` in the name lets a newcomer see a disagreement: `CONFLICT`). A round is a range
 * `[first, last]` of member sequence numbers, written once as the persistent marker
 * `<path>/ready-<first>` whose data is `last`; the round of a member is the marker with the
 * largest `first` at or below its own sequence, if `last` reaches it. Members above the
 * newest marker's `last` are the candidates of the next round: whoever sees `count` of them
 * (in its create's listing or after a wake-up) creates the marker for the first `count`
 * (`NODE_EXISTS` arbitrates concurrent creators, so a round has one range). A waiter
 * predicts the marker's name from the first candidate and watches two nodes only: that
 * marker (it appears) and that first candidate (if it goes, the round's name changes) —
 * arrivals wake nobody but the one that completes the round. A marker is never reused, so a
 * late member cannot slip through a previous round's marker (Curator's single `ready` node
 * lets it), and it outlives its creator, so a member that has not yet seen it is not stuck
 * when the creator leaves early.
 *
 * Leaving, over the members of the round still present: the lowest one stays as a sentinel
 * and watches the highest; every other member deletes its node and watches the lowest. So
 * each departure wakes at most the sentinel, and the sentinel's own departure — once it is
 * alone — releases the others at once. The sentinel deletes the marker just before its own
 * node: nobody of the round needs it any more. A marker whose round died out entirely is
 * removed by the next newcomer that finds it empty.
 *
 * Session loss: a member whose session dies is gone — before the round forms it no longer
 * counts, after it the others stop waiting for it. Its handle's `signal` aborts first. An
 * `enter` that times out, is aborted or loses its session deletes its node before it rejects.
 * A `leave` that times out or is aborted has still left (its node is deleted), and may be
 * called again to wait for the others; `leave` is not bound to the session, since it only
 * waits for others once its own node is gone.
 */
import {
  CoordError,
  EMPTY,
  callSignal,
  checkTimeout,
  isCoordError,
  joinPath,
  linkSignals,
  raceAbort,
  throwIfAborted,
  validatePath,
  type Driver,
  type NodeRef,
  type Session,
  type WaitOptions,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { untilGone } from './internal/wait-turn.js';
import { NodeLease } from './lease.js';

/** Options of `coord.doubleBarrier(path, options)`. */
export interface DoubleBarrierOptions {
  /** How many members a round needs before anyone gets through `enter` (a positive integer). */
  readonly count: number;
}

/** A member inside a double barrier: what `enter()` returns. Disposing it leaves without waiting. */
export interface BarrierMember extends AsyncDisposable {
  /** The member node's fencing token. */
  readonly token: bigint;
  /** Aborted once this member is no longer in: it left, its session may be over, or its node was deleted. */
  readonly signal: AbortSignal;
  /** Whether a `leave()` has completed. */
  readonly left: boolean;
  /**
   * Leaves, and waits until every member of the round has left. Once it resolved, later
   * calls resolve at once. On `TIMEOUT`/`ABORTED` the member has still left (its node is
   * gone), and calling `leave()` again waits for the others again.
   * @example `await member.leave({ timeout: 30_000 })`
   * @throws CoordError `TIMEOUT`, `ABORTED`, `CLOSED`.
   */
  leave(options?: WaitOptions): Promise<void>;
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
   *   member already in uses another `count`.
   */
  enter(options?: WaitOptions): Promise<BarrierMember>;
}

/** A round: the member sequence numbers its marker admits. */
interface Round {
  readonly first: bigint;
  readonly last: bigint;
}

const MEMBER = /^m-(\d+)-/;
const MARKER = /^ready-(\d+)$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A {@link DoubleBarrier} over member nodes and per-round markers. */
export class NodeDoubleBarrier implements DoubleBarrier {
  readonly path: string;
  readonly count: number;
  readonly #driver: Driver;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the barrier's directory (the barrier owns its subtree)
   * @param options `count`: members per round
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path or count.
   */
  constructor(driver: Driver, path: string, options: DoubleBarrierOptions) {
    this.path = validatePath(path, 'double barrier path');
    const count: unknown = options?.count;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
      throw new CoordError('INVALID_ARGUMENT', `double barrier ${path}: count must be a positive safe integer, got ${String(count)}`);
    }
    this.count = count;
    this.#driver = driver;
    this.#what = `double barrier ${path}`;
  }

  async enter(options: WaitOptions = {}): Promise<BarrierMember> {
    const startedAt = performance.now();
    checkTimeout(options.timeout, this.#what);
    throwIfAborted(options.signal, this.#what);
    const session = this.#driver.session;
    if (session.signal.aborted) throw toError(session.signal.reason);
    const { node, siblings } = await this.#join(session);
    using call = callSignal({ ...options, startedAt }, this.#what, session.signal);
    try {
      const round = await this.#awaitRound(node, siblings, call.signal);
      if (session.signal.aborted) throw toError(session.signal.reason);
      return new Member(this.#driver, this.path, this.count, new NodeLease(this.#driver, node, session, this.#what), round);
    } catch (error) {
      if (!session.signal.aborted) await this.#driver.delete(node.path).catch(() => false);
      throw toError(error);
    }
  }

  /** Creates our member node, checking its owner and that the members agree on `count`. */
  async #join(session: Session): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
    const prefix = `m-${this.count}-${attemptId()}-`;
    const { node, siblings } = await this.#driver.createSequential(this.path, prefix, EMPTY, { ephemeral: true });
    const other = siblings.find((sibling) => sibling.seq > 0n && (MEMBER.exec(sibling.name)?.[1] ?? String(this.count)) !== String(this.count));
    if (node.owner !== session.id || other !== undefined) {
      await this.#driver.delete(node.path).catch(() => false);
      if (other === undefined) throw new CoordError('SESSION_EXPIRED', `${this.#what}: session ${session.id} ended during the request`);
      throw new CoordError('CONFLICT', `${this.#what}: count is ${this.count} here, but member ${other.name} uses another count`);
    }
    return { node, siblings };
  }

  /** Decides from listings until `own` is in a complete round; waits in between. */
  async #awaitRound(own: NodeRef, listing: readonly NodeRef[], signal: AbortSignal): Promise<Round> {
    let nodes = listing;
    for (;;) {
      const decision = await this.#decide(own, nodes);
      if (decision === 'reread') {
        throwIfAborted(signal, this.#what);
      } else if ('last' in decision) {
        return decision;
      } else {
        const round = await this.#waitForRound(own, decision.first, signal);
        if (round !== undefined) return round;
      }
      nodes = (await this.#driver.children(this.path)).nodes;
    }
  }

  /**
   * One decision on one listing: our round if its marker exists (or we complete it), else
   * the first candidate of the round we wait for, else `reread` (a marker changed under us).
   */
  async #decide(own: NodeRef, nodes: readonly NodeRef[]): Promise<Round | { first: NodeRef } | 'reread'> {
    const members = membersOf(nodes, this.count);
    if (!members.some((node) => node.path === own.path)) {
      throw new CoordError('LOST', `${this.#what}: own node ${own.name} is gone (deleted, or its session ended)`);
    }
    let floor = 0n;
    const first = newestMarkerAtOrBelow(nodes, own.seq);
    if (first !== undefined) {
      const last = await this.#readMarker(first);
      if (last === undefined) return 'reread';
      if (own.seq <= last) return { first, last };
      floor = last;
      // A round with nobody left in it needs its marker no more (its sentinel died).
      if (!members.some((node) => node.seq >= first && node.seq <= last)) await this.#driver.delete(markerPath(this.path, first));
    }
    const candidates = members.filter((node) => node.seq > floor);
    const head = candidates[0] as NodeRef; // `own` is one of them
    const completing = candidates[this.count - 1];
    if (completing === undefined) return { first: head };
    const round = { first: head.seq, last: completing.seq };
    try {
      await this.#driver.create(markerPath(this.path, round.first), encoder.encode(round.last.toString()));
    } catch (error) {
      if (isCoordError(error, 'NODE_EXISTS')) return 'reread'; // another member wrote it: read its range
      throw error;
    }
    return own.seq <= round.last ? round : 'reread';
  }

  /**
   * Waits for the marker of the round that starts at `first`, or for `first` to go (the
   * round would then start elsewhere). Returns our round, or undefined to decide again.
   */
  async #waitForRound(own: NodeRef, first: NodeRef, signal: AbortSignal): Promise<Round | undefined> {
    const marker = markerPath(this.path, first.seq);
    for (;;) {
      const step = new AbortController();
      const linked = linkSignals(signal, step.signal);
      try {
        const ready = await this.#driver.get(marker, { watch: true, signal: linked.signal });
        if (ready.node !== undefined) {
          const last = parseLast(ready.node.data, marker);
          return own.seq <= last ? { first: first.seq, last } : undefined;
        }
        const wakes = [ready.changed];
        if (first.path !== own.path) {
          const head = await this.#driver.get(first.path, { watch: true, signal: linked.signal });
          if (head.node === undefined) return undefined;
          wakes.push(head.changed);
        }
        await raceAbort(Promise.race(wakes), signal, this.#what);
        throwIfAborted(signal, this.#what);
      } finally {
        step.abort();
        linked.dispose();
      }
    }
  }

  /** The `last` of the round whose marker starts at `first`, or undefined if it is gone. */
  async #readMarker(first: bigint): Promise<bigint | undefined> {
    const path = markerPath(this.path, first);
    const { node } = await this.#driver.get(path);
    return node === undefined ? undefined : parseLast(node.data, path);
  }
}

/** A member of one round; its node is held by a lease (token, signal, idempotent delete). */
class Member implements BarrierMember {
  readonly #driver: Driver;
  readonly #dir: string;
  readonly #count: number;
  readonly #lease: NodeLease;
  readonly #round: Round;
  #leaving: Promise<void> | undefined;
  #left = false;

  constructor(driver: Driver, dir: string, count: number, lease: NodeLease, round: Round) {
    this.#driver = driver;
    this.#dir = dir;
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

  leave(options: WaitOptions = {}): Promise<void> {
    if (this.#left) return Promise.resolve();
    // A second call while one is pending joins it (its own options are ignored).
    this.#leaving ??= this.#leave(options).finally(() => {
      this.#leaving = undefined;
    });
    return this.#leaving;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#lease.release();
  }

  toJSON(): { node: string; token: string; round: string; left: boolean } {
    return { node: this.#lease.node.path, token: this.token.toString(), round: `${this.#round.first}-${this.#round.last}`, left: this.#left };
  }

  /** The leave loop: sentinel or not, re-decided on every listing. */
  async #leave(options: WaitOptions): Promise<void> {
    const what = `double barrier ${this.#dir}`;
    const startedAt = performance.now();
    checkTimeout(options.timeout, what);
    throwIfAborted(options.signal, what);
    using call = callSignal({ ...options, startedAt }, what);
    const own = this.#lease.node.path;
    const marker = markerPath(this.#dir, this.#round.first);
    try {
      for (;;) {
        const { nodes } = await this.#driver.children(this.#dir);
        const inside = membersOf(nodes, this.#count).filter((node) => node.seq >= this.#round.first && node.seq <= this.#round.last);
        const present = inside.some((node) => node.path === own);
        const others = inside.filter((node) => node.path !== own);
        const lowest = others[0];
        if (lowest === undefined) {
          // Everyone else is out. The sentinel removes the marker; so does anyone who finds it orphaned.
          if (present || nodes.some((node) => node.path === marker)) await this.#driver.delete(marker);
          await this.#lease.release();
          this.#left = true;
          return;
        }
        if (present && (inside[0] as NodeRef).path === own) {
          await untilGone(this.#driver, (others[others.length - 1] as NodeRef).path, call.signal, what);
        } else {
          await this.#lease.release();
          await untilGone(this.#driver, lowest.path, call.signal, what);
        }
      }
    } catch (error) {
      // An abandoned leave still leaves: a member that stops waiting must not block the others.
      await this.#lease.release().catch(() => undefined);
      throw toError(error);
    }
  }
}

/** The members of a listing that use `count`, in sequence order. */
function membersOf(nodes: readonly NodeRef[], count: number): NodeRef[] {
  return nodes.filter((node) => node.seq > 0n && MEMBER.exec(node.name)?.[1] === String(count));
}

/** The largest `first` of the markers in a listing that is at or below `seq`. */
function newestMarkerAtOrBelow(nodes: readonly NodeRef[], seq: bigint): bigint | undefined {
  let newest: bigint | undefined;
  for (const node of nodes) {
    const digits = MARKER.exec(node.name)?.[1];
    if (digits === undefined) continue;
    const first = BigInt(digits);
    if (first <= seq && (newest === undefined || first > newest)) newest = first;
  }
  return newest;
}

function markerPath(dir: string, first: bigint): string {
  return joinPath(dir, `ready-${first}`);
}

function parseLast(data: Uint8Array, path: string): bigint {
  const text = decoder.decode(data);
  if (!/^\d+$/.test(text)) throw new CoordError('INTERNAL', `double barrier: marker ${path} holds ${JSON.stringify(text)}, not a sequence number`);
  return BigInt(text);
}

function toError(reason: unknown): CoordError {
  if (isCoordError(reason)) return reason;
  return new CoordError('INTERNAL', String(reason), { cause: reason });
}
