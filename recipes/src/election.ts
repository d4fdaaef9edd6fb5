/**
 * Leader election, built on the lock queue (docs/design.md R7): campaigning is acquiring a
 * lock whose queue node carries the candidate's value, and the leader is the lock holder.
 *
 * Protocol: each campaign creates an ephemeral sequential node `<path>/candidate-<attempt>-<seq>`
 * holding the encoded value. The candidate with the lowest sequence leads; a follower watches
 * only its immediate predecessor (the lock's queue walk), so a leader that goes wakes exactly
 * one follower, which re-reads the queue before it takes over. `leader()` lists the queue and
 * reads its first node (two requests), reading again if that node vanished in between.
 * `observe()` watches the current leader's node only — or, with no candidate, the queue itself
 * — so followers joining or leaving never wake an observer.
 *
 * Session loss: candidate nodes are ephemeral, so a leader whose session dies is replaced by
 * the next in line. The leadership's `signal` aborts when its session may be over, which the
 * session reports before the server could expire it — so the old leader hears it before the
 * next one could be told. A follower whose session ends rejects with `SESSION_EXPIRED`; one
 * that times out or is aborted deletes its node first. Observers hold nothing: their watches
 * survive a session change (the re-read goes through the fresh session).
 */
import {
  checkCodec,
  checkOptionsObject,
  checkSignalOptions,
  checkWaitOptions,
  jsonCodec,
  linkSignals,
  raceAbort,
  type Codec,
  type Driver,
  type NodeRef,
  type WaitOptions,
  type WatchEvent,
} from '@coord/core';
import { everyEarlierNode } from './internal/wait-turn.js';
import { LockRecipe, type LockKind } from './lock.js';
import type { Lease } from './lease.js';

/** Options of `coord.election(path, options)`. */
export interface ElectionOptions<T> {
  /** How candidate values are stored (default: JSON). */
  readonly codec?: Codec<T>;
}

/** A leader, as seen by anyone: its value and its fencing token. */
export interface Leader<T> {
  /** The value the leader campaigned with. */
  readonly value: T;
  /** The leadership's fencing token: strictly greater for every later leader. */
  readonly token: bigint;
}

/** Leadership held by a campaign: a {@link Lease} that also carries the value. */
export interface Leadership<T> extends Lease {
  /** The value this candidate campaigned with. */
  readonly value: T;
  /**
   * Steps down (deletes the candidate node), letting the next in line lead. Same as
   * `release()`: idempotent, and does not throw after leadership was lost.
   * @throws CoordError `UNAVAILABLE`/`TIMEOUT` if the backend could not confirm it.
   */
  resign(): Promise<void>;
}

/** Options of {@link Election.observe}. */
export interface ObserveOptions {
  /** Ends the iteration quietly when it aborts (like `break`): the pending `next()` resolves `done`. */
  readonly signal?: AbortSignal;
}

/** An election: what `coord.election(path)` returns. Creating one does no I/O. */
export interface Election<T> {
  /** The election's path. */
  readonly path: string;
  /**
   * Stands as a candidate and waits until elected (FIFO among candidates; a second campaign
   * from the same coordinator queues behind the first).
   * @example
   * ```ts
   * await using leadership = await coord.election('/services/billing').campaign('node-a');
   * await runAsLeader({ fencingToken: leadership.token, signal: leadership.signal });
   * ```
   * @throws CoordError `TIMEOUT`, `ABORTED`, `SESSION_EXPIRED`, `CLOSED`; `INVALID_ARGUMENT`
   *   if the codec cannot encode `value`.
   */
  campaign(value: T, options?: WaitOptions): Promise<Leadership<T>>;
  /**
   * The current leader, or `undefined` if there is no candidate.
   * @throws CoordError `CLOSED`; `INVALID_ARGUMENT` if the leader's value does not decode.
   */
  leader(): Promise<Leader<T> | undefined>;
  /**
   * Yields the current leader (or `undefined`), then each change of leader, never the same
   * state twice in a row. Leaving the loop (or aborting `signal`) cancels its watch.
   * @example `for await (const leader of election.observe({ signal })) console.log(leader?.value);`
   * @throws CoordError `CLOSED`. Never `ABORTED`: aborting `signal` just ends the loop.
   */
  observe(options?: ObserveOptions): AsyncIterable<Leader<T> | undefined>;
}

const CANDIDATE: LockKind = { prefix: 'candidate', blocks: everyEarlierNode, label: 'election' };

/** The leader state of one read, and the watch that fires when it may have changed. */
interface Observation<T> {
  readonly leader: Leader<T> | undefined;
  readonly changed: Promise<WatchEvent> | undefined;
}

/** An {@link Election} over a lock queue whose nodes carry the candidates' values. */
export class ElectionRecipe<T> implements Election<T> {
  readonly path: string;
  readonly #driver: Driver;
  readonly #codec: Codec<T>;
  readonly #queue: LockRecipe;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the election's directory (the election owns its subtree)
   * @param options the codec of candidate values (default JSON)
   * @throws CoordError `INVALID_ARGUMENT` for a malformed, reserved or too long path, or a
   *   codec without encode/decode.
   */
  constructor(driver: Driver, path: string, options?: ElectionOptions<T>) {
    this.#queue = new LockRecipe(driver, path, CANDIDATE);
    this.path = this.#queue.path;
    this.#driver = driver;
    this.#what = `election ${this.path}`;
    this.#codec = checkCodec(checkOptionsObject(options, this.#what).codec, jsonCodec as Codec<T>, this.#what);
  }

  async campaign(value: T, options?: WaitOptions): Promise<Leadership<T>> {
    options = checkWaitOptions(options, this.#what);
    const data = this.#codec.encode(value); // fails before any request
    return new QueueLeadership(await this.#queue.acquire(options, data), value);
  }

  async leader(): Promise<Leader<T> | undefined> {
    for (;;) {
      const first = firstCandidate((await this.#driver.children(this.path)).nodes);
      if (first === undefined) return undefined;
      const { node } = await this.#driver.get(first.path);
      // Gone between the two reads: someone else leads now, read again.
      if (node !== undefined) return { value: this.#codec.decode(node.data), token: first.token };
    }
  }

  observe(options?: ObserveOptions): AsyncIterable<Leader<T> | undefined> {
    const { signal } = checkSignalOptions(options, this.#what);
    return { [Symbol.asyncIterator]: () => this.#observe(signal) };
  }

  /**
   * The observation loop. Every round's watch is armed under its own controller, aborted
   * when the round ends — by a wake-up, by `signal`, or by the consumer leaving the loop
   * (`return()` runs the `finally`) — so nothing outlives the iteration.
   */
  async *#observe(signal: AbortSignal | undefined): AsyncGenerator<Leader<T> | undefined, void, undefined> {
    let last: bigint | 'none' | undefined;
    const ended = (): boolean => signal?.aborted === true;
    while (!ended()) {
      const round = new AbortController();
      const linked = linkSignals(signal, round.signal);
      try {
        const seen = await this.#observeOnce(linked.signal);
        if (seen === undefined) continue; // the first candidate vanished between two reads
        const key = seen.leader?.token ?? 'none';
        if (key !== last) {
          last = key;
          yield seen.leader;
        }
        if (seen.changed !== undefined) await raceAbort(seen.changed, signal, this.#what);
      } catch (error) {
        // The caller's signal is how an observation is meant to end: quietly, like `break`.
        if (ended()) return;
        throw error;
      } finally {
        round.abort();
        linked.dispose();
      }
    }
  }

  /**
   * Reads the leader with a watch on what would change it: the leader's node, or the queue
   * when it is empty. Returns undefined if the first node vanished between the two reads.
   */
  async #observeOnce(signal: AbortSignal): Promise<Observation<T> | undefined> {
    const listing = new AbortController();
    const linked = linkSignals(signal, listing.signal);
    let keepLink = false;
    try {
      const { nodes, changed } = await this.#driver.children(this.path, { watch: true, signal: linked.signal });
      const first = firstCandidate(nodes);
      if (first === undefined) {
        // The queue's watch is returned armed: keep it linked to `signal`, so that the
        // round's end (abort, break) cancels it rather than leaving it armed.
        keepLink = true;
        return { leader: undefined, changed };
      }
      listing.abort(); // a leader exists: watch it alone, not every follower's coming and going
      const read = await this.#driver.get(first.path, { watch: true, signal });
      if (read.node === undefined) return undefined;
      return { leader: { value: this.#codec.decode(read.node.data), token: first.token }, changed: read.changed };
    } finally {
      if (!keepLink) linked.dispose();
    }
  }
}

/** The leading candidate: the first sequential node of the queue. */
function firstCandidate(nodes: readonly NodeRef[]): NodeRef | undefined {
  return nodes.find((node) => node.seq > 0n);
}

/** A {@link Leadership} over the lease of the candidate node. */
class QueueLeadership<T> implements Leadership<T> {
  readonly value: T;
  readonly #lease: Lease;

  constructor(lease: Lease, value: T) {
    this.#lease = lease;
    this.value = value;
  }

  get token(): bigint {
    return this.#lease.token;
  }

  get signal(): AbortSignal {
    return this.#lease.signal;
  }

  get released(): boolean {
    return this.#lease.released;
  }

  release(): Promise<void> {
    return this.#lease.release();
  }

  resign(): Promise<void> {
    return this.#lease.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#lease.release();
  }

  toJSON(): { value: T; token: string; released: boolean } {
    return { value: this.value, token: this.token.toString(), released: this.released };
  }
}
