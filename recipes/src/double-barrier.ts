/**
 * Double barrier (the ZooKeeper recipe, as Curator's DistributedDoubleBarrier): nobody gets
 * through `enter()` until `count` members are in, nobody through `leave()` until every member
 * of that round has left. One path serves any number of rounds.
 *
 * Entering. A member is an ephemeral sequential node `<path>/m-<count>-<attempt>-<seq>`
 * (`count` in the name lets a newcomer see a disagreement: `CONFLICT`). A round is a range
 * `[first, last]` of member tokens, written once as the persistent marker `<path>/ready-<first>`
 * holding `last`. A member's round is the marker with the largest `first` at or below its own
 * token, if `last` reaches it; members above that `last` are candidates for the next round.
 * Whoever sees `count` candidates (in its create's listing, or after a wake-up) writes the
 * marker for the first `count` of them; `NODE_EXISTS` arbitrates concurrent writers. A waiter
 * predicts the marker's name from the first candidate and watches two nodes only: the marker
 * (it appears) and that candidate (if it goes, the name changes). So arrivals wake nobody, and
 * the marker wakes each waiter once. A marker is never reused, so a latecomer cannot slip
 * through an old round's marker (Curator's one `ready` node lets it), and it outlives its
 * writer, so a waiter that has not seen it yet is not stranded when the writer moves on.
 *
 * Leaving, over the members of the round still present: the lowest stays as a sentinel and
 * watches the highest; every other member deletes its node and watches the lowest. Each
 * departure wakes at most the sentinel, and the sentinel's own departure — once it is alone —
 * releases the others together. The sentinel deletes the marker just before its node; a
 * marker whose round died out is removed by whoever next finds it empty.
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
   * Leaves, and waits until every member of the round has left; resolves at once after one
   * completed. On `TIMEOUT`/`ABORTED` the member has still left (its node is gone), and a
   * new call waits for the others again. A call while one is pending joins it.
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
   *   member already there uses another `count`.
   */
  enter(options?: WaitOptions): Promise<BarrierMember>;
}

/** A round: the member tokens its marker admits. */
interface Round {
  readonly first: bigint;
  readonly last: bigint;
}

const MEMBER = /^m-(\d+)-/;
const MARKER = /^ready-(\d+)$/;

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
      // Our node went with the session if the session did; otherwise remove it ourselves.
      if (!session.signal.aborted) await this.#driver.delete(node.path).catch(() => false);
      throw toError(error);
    }
  }

  /** Creates our member node, checking its owner and that the members agree on `count`. */
  async #join(session: Session): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
    const { node, siblings } = await this.#driver.createSequential(this.path, `m-${this.count}-${attemptId()}-`, EMPTY, { ephemeral: true });
    const other = siblings.find((sibling) => sibling.seq > 0n && (MEMBER.exec(sibling.name)?.[1] ?? String(this.count)) !== String(this.count));
    if (node.owner !== session.id || other !== undefined) {
      await this.#driver.delete(node.path).catch(() => false);
      if (other === undefined) throw new CoordError('SESSION_EXPIRED', `${this.#what}: session ${session.id} ended during the request`);
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
      if (!members.some((node) => node.token >= first && node.token <= last)) await this.#driver.delete(markerPath(this.path, first));
    }
    const candidates = members.filter((node) => node.token > floor);
    const head = candidates[0] as NodeRef; // `own` is a candidate
    const completing = candidates[this.count - 1];
    if (completing === undefined) return { head };
    const round = { first: head.token, last: completing.token };
    try {
      await this.#driver.create(markerPath(this.path, round.first), new TextEncoder().encode(round.last.toString()));
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
    const marker = markerPath(this.path, head.token);
    for (;;) {
      const step = new AbortController();
      const linked = linkSignals(signal, step.signal);
      try {
        const ready = await this.#driver.get(marker, { watch: true, signal: linked.signal });
        if (ready.node !== undefined) {
          const last = parseLast(ready.node.data, marker);
          return own.token <= last ? { first: head.token, last } : undefined;
        }
        const wakes = [ready.changed];
        if (head.path !== own.path) {
          const first = await this.#driver.get(head.path, { watch: true, signal: linked.signal });
          if (first.node === undefined) return undefined;
          wakes.push(first.changed);
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
  readonly #path: string;
  readonly #count: number;
  readonly #lease: NodeLease;
  readonly #round: Round;
  #leaving: Promise<void> | undefined;
  #left = false;

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

  leave(options: WaitOptions = {}): Promise<void> {
    if (this.#left) return Promise.resolve();
    this.#leaving ??= this.#leave(options).finally(() => {
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
    const path = this.#path;
    const what = `double barrier ${path}`;
    const startedAt = performance.now();
    checkTimeout(options.timeout, what);
    throwIfAborted(options.signal, what);
    using call = callSignal({ ...options, startedAt }, what);
    const driver = this.#driver;
    const own = this.#lease.node.path;
    const marker = markerPath(path, this.#round.first);
    try {
      for (;;) {
        const { nodes } = await driver.children(path);
        const inside = membersOf(nodes, this.#count).filter((node) => node.token >= this.#round.first && node.token <= this.#round.last);
        const present = inside.some((node) => node.path === own);
        const others = inside.filter((node) => node.path !== own);
        if (others.length === 0) {
          // The sentinel removes the marker; so does anyone who finds it orphaned.
          if (present || nodes.some((node) => node.path === marker)) await driver.delete(marker);
          await this.#lease.release();
          this.#left = true;
          return;
        }
        if (inside[0]?.path === own) {
          await untilGone(driver, (others[others.length - 1] as NodeRef).path, call.signal, what);
        } else {
          await this.#lease.release();
          await untilGone(driver, (others[0] as NodeRef).path, call.signal, what);
        }
      }
    } catch (error) {
      // An abandoned leave still leaves: a member that stops waiting must not block the others.
      await this.#lease.release().catch(() => undefined);
      throw toError(error);
    }
  }
}

/** The members of a listing that use `count`, in creation order. */
function membersOf(nodes: readonly NodeRef[], count: number): NodeRef[] {
  return nodes.filter((node) => node.seq > 0n && MEMBER.exec(node.name)?.[1] === String(count));
}

/** The largest `first` of the markers in a listing that is at or below `token`. */
function newestMarkerAtOrBelow(nodes: readonly NodeRef[], token: bigint): bigint | undefined {
  let newest: bigint | undefined;
  for (const node of nodes) {
    const digits = MARKER.exec(node.name)?.[1];
    if (digits === undefined) continue;
    const first = BigInt(digits);
    if (first <= token && (newest === undefined || first > newest)) newest = first;
  }
  return newest;
}

function markerPath(dir: string, first: bigint): string {
  return joinPath(dir, `ready-${first}`);
}

function parseLast(data: Uint8Array, path: string): bigint {
  const text = new TextDecoder().decode(data);
  if (!/^\d+$/.test(text)) throw new CoordError('INTERNAL', `double barrier: marker ${path} holds ${JSON.stringify(text)}, not a token`);
  return BigInt(text);
}

function toError(reason: unknown): CoordError {
  if (isCoordError(reason)) return reason;
  return new CoordError('INTERNAL', String(reason), { cause: reason });
}
