/**
 * Distributed queue: priorities (lower first), FIFO within a priority, at-least-once delivery.
 *
 * Protocol. Under the queue's path:
 * - `items/msg-<priority>-<attempt>-<seq>`: one persistent sequential node per message,
 *   holding the encoded value (naming in `internal/queue-items.ts`). Delivery order is
 *   (priority, seq). An item lives until it is acked.
 * - `claims/<item name>`: an ephemeral plain node whose create is the claim. The create fails
 *   `NODE_EXISTS` when another consumer holds the item, so two consumers never hold the same
 *   message, and it goes with its session, so a dead consumer's messages come back. Its
 *   data is the take's attempt id: a claim is never adopted because our session owns it (two
 *   takes of one coordinator share a session, yet must not share a message), and a claim left
 *   by this very attempt's lost create reply is recognised and dropped
 *   (`internal/queue-claim.ts`).
 * - `takers/take-<attempt>-<seq>`: a {@link LockRecipe} that lines up waiting takers.
 *
 * Take. The fast path reads `items`, `claims` and `takers` in parallel and, when there is an
 * unclaimed item and nobody waits, claims the first one: 3 reads (one round trip), 1 create,
 * 1 get = 5 requests. Otherwise the taker queues on the lock, so only the head of the line
 * watches the queue and the others each watch their predecessor in the line: one new item
 * wakes one waiter (no herd). The head lists `items` with a watch and, if items exist but all
 * are claimed, `claims` with a watch too — a claim disappears when its consumer nacks or
 * dies — and on any change re-reads (docs/design.md R2). Checking `takers` on the fast path
 * keeps newcomers from overtaking a waiting line; a newcomer racing the head for an item is
 * harmless (one claim create wins). After a claim, the item is read back: it may have been
 * acked between the listing and the claim (the acker deletes the item before its claim),
 * and then the claim is dropped and the next item tried.
 *
 * Ack deletes the item, then the claim (2 requests); nack deletes the claim (1); put is one
 * sequential create. `size()` is one listing: messages not yet acked, in flight ones included.
 * Every take lists the items and claims, so its cost grows with the backlog: this is a
 * coordination queue (jobs, tasks), not a message bus.
 *
 * Changes from the plain "list and claim" recipe: the fast path skips the line when nobody
 * waits (5 requests in 3 round trips, against 6 in 5 when always queueing: join the line,
 * list, claim, read, leave), the head watches `claims` only while
 * items exist and every one is claimed, and a nacked message keeps
 * its place rather than going to the back, so its order within its priority is kept.
 *
 * Session loss. Claims and taker nodes are ephemeral: a consumer whose session ends loses its
 * claims, so its un-acked messages are delivered again, and leaves the line of takers. A
 * message's `signal` aborts when its claim may be gone (see `NodeLease`); acking then fails
 * rather than delete an item another consumer may hold. A pending take rejects with
 * `SESSION_EXPIRED`; a take that times out or is aborted leaves no node and no watch behind.
 * Like a dead lock holder, a taker whose process dies at the head of the line holds the
 * others up until the server expires its session. Items are persistent: a producer's
 * session has no bearing on them.
 */
import {
  callSignal,
  checkCodec,
  checkOptionsObject,
  checkPath,
  checkSignalOptions,
  checkWaitOptions,
  sequentialBudget,
  startWait,
  isCoordError,
  jsonCodec,
  joinPath,
  raceAbort,
  throwIfAborted,
  type Codec,
  type Driver,
  type Session,
  type WaitOptions,
  type WatchEvent,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { liveSession } from './internal/own-node.js';
import { claimItem } from './internal/queue-claim.js';
import { checkPriority, deliveryOrder, itemPrefix, unclaimed, type Item } from './internal/queue-items.js';
import { QueueMessage, nackAll, type Message } from './internal/queue-message.js';
import { everyEarlierNode, watchStep } from './internal/wait-turn.js';
import { LockRecipe } from './lock.js';

export { MAX_PRIORITY, MIN_PRIORITY } from './internal/queue-items.js';
export type { Message, MessageState } from './internal/queue-message.js';

/** Options of {@link Queue.put}. */
export interface PutOptions {
  /** An integer from `MIN_PRIORITY` (-2^31) to `MAX_PRIORITY` (2^31 - 1); lower first. Default 0. */
  readonly priority?: number;
}

/** Options of {@link Queue.consume}. */
export interface ConsumeOptions {
  /** Ends the iteration (quietly) when it aborts. */
  readonly signal?: AbortSignal;
}

/** Options of a queue. */
export interface QueueOptions<T> {
  /** Turns values into bytes and back (default: JSON). Producers and consumers must agree. */
  readonly codec?: Codec<T>;
}

/** A distributed queue: what `coord.queue(path)` returns. Creating one does no I/O. */
export interface Queue<T> {
  /** The queue's path. */
  readonly path: string;
  /**
   * Adds a message. Returns its id (the {@link Message.id} consumers will see).
   * @example `await coord.queue('/jobs').put({ job: 'resize', id: 7 }, { priority: -1 })`
   * @throws CoordError `INVALID_ARGUMENT` (bad priority, unencodable value), `PAYLOAD_TOO_LARGE`.
   */
  put(value: T, options?: PutOptions): Promise<string>;
  /**
   * Waits for the next message and claims it for this coordinator's session.
   * @example
   * ```ts
   * await using message = await coord.queue('/jobs').take({ timeout: 10_000 });
   * await handle(message.value);
   * await message.ack(); // without it, disposal nacks: the message is delivered again
   * ```
   * @throws CoordError `TIMEOUT`, `ABORTED`, `SESSION_EXPIRED`, `CLOSED`.
   */
  take(options?: WaitOptions): Promise<Message<T>>;
  /**
   * Takes messages one after the other, for as long as the loop runs. Leaving the loop
   * (`break`, a throw, or `signal` aborting) nacks every message it yielded that is neither
   * acked nor nacked. Messages may be settled after the next one was taken.
   * @example
   * ```ts
   * for await (const message of coord.queue('/jobs').consume({ signal })) {
   *   await handle(message.value);
   *   await message.ack();
   * }
   * ```
   * @throws CoordError `SESSION_EXPIRED` when the session ends (the coordinator opens a
   *   fresh one: call `consume()` again), `CLOSED`; never `ABORTED` (the loop just ends).
   */
  consume(options?: ConsumeOptions): AsyncGenerator<Message<T>, void, undefined>;
  /**
   * How many messages are not yet acked, including those taken and not yet settled.
   * @throws CoordError `SESSION_EXPIRED`, `CLOSED`.
   */
  size(): Promise<number>;
}

const TAKER = { prefix: 'take', blocks: everyEarlierNode, label: 'queue taker' } as const;

/**
 * The room a queue's nodes need past its path: the longest of an item
 * (`/items/msg-<10 digits>-<attempt>-<seq>`), its claim (`/claims/<item name>`) and a taker
 * (`/takers/take-<attempt>-<seq>`).
 */
const QUEUE_RESERVE = Math.max(
  '/claims'.length + sequentialBudget(itemPrefix(0, '').slice(0, -1)),
  '/takers'.length + sequentialBudget(`${TAKER.prefix}-`),
);

/**
 * A {@link Queue} over items, claims and a line of takers (see the module comment). Users get
 * one from `coord.queue(path)`; custom recipes may build one on any driver.
 * @example `const jobs = new QueueRecipe<Job>(driver, '/jobs')`
 * @throws CoordError `INVALID_ARGUMENT` for a malformed path.
 */
export class QueueRecipe<T> implements Queue<T> {
  readonly path: string;
  readonly #driver: Driver;
  readonly #codec: Codec<T>;
  readonly #items: string;
  readonly #claims: string;
  readonly #takers: LockRecipe;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the queue's directory (the queue owns its subtree)
   * @param options the codec (default JSON; with JSON, `T` is not checked at run time)
   * @throws CoordError `INVALID_ARGUMENT` for a malformed, reserved or too long path (every
   *   item, claim and taker node must fit under it), or a codec without encode/decode.
   */
  constructor(driver: Driver, path: string, options?: QueueOptions<T>) {
    this.path = checkPath(path, 'queue path', QUEUE_RESERVE);
    this.#driver = driver;
    this.#codec = checkCodec(checkOptionsObject(options, `queue ${this.path}`).codec, jsonCodec as Codec<T>, `queue ${this.path}`);
    this.#items = joinPath(path, 'items');
    this.#claims = joinPath(path, 'claims');
    this.#takers = new LockRecipe(driver, joinPath(path, 'takers'), TAKER);
    this.#what = `queue ${path}`;
  }

  async put(value: T, options?: PutOptions): Promise<string> {
    const priority = checkPriority(checkOptionsObject(options, this.#what).priority ?? 0, this.#what);
    const data = this.#codec.encode(value);
    const { node } = await this.#driver.createSequential(this.#items, itemPrefix(priority, attemptId()), data);
    return node.name;
  }

  async take(options?: WaitOptions): Promise<Message<T>> {
    const startedAt = startWait(options, this.#what);
    options = checkWaitOptions(options, this.#what);
    const session = liveSession(this.#driver);
    const fast = await this.#takeAtOnce(session);
    if (fast !== undefined) return fast;
    const turn = await this.#takers.acquire(remaining(options, startedAt));
    let message: QueueMessage<T> | undefined;
    try {
      using call = callSignal({ ...options, startedAt }, this.#what, session.signal);
      message = await this.#waitAtHead(session, call.signal);
      return message;
    } finally {
      // Leaving the line promptly matters more than anything: the next taker waits on us.
      await turn.release().catch(async (error: unknown) => {
        await message?.nack().catch(() => undefined);
        throw error;
      });
    }
  }

  consume(options?: ConsumeOptions): AsyncGenerator<Message<T>, void, undefined> {
    return this.#consume(checkSignalOptions(options, this.#what)); // refuses at the call, not at the first next()
  }

  async *#consume(options: ConsumeOptions): AsyncGenerator<Message<T>, void, undefined> {
    const yielded = new Set<QueueMessage<T>>();
    const takeOptions = options.signal === undefined ? {} : { signal: options.signal };
    try {
      for (;;) {
        let message: QueueMessage<T>;
        try {
          message = (await this.take(takeOptions)) as QueueMessage<T>;
        } catch (error) {
          if (options.signal?.aborted === true && isCoordError(error, 'ABORTED')) return;
          throw error;
        }
        if (options.signal?.aborted === true) {
          await message.nack(); // taken on the fast path as the signal fired: give it back
          return;
        }
        for (const earlier of yielded) if (earlier.state !== 'held') yielded.delete(earlier);
        yielded.add(message);
        yield message;
      }
    } finally {
      await nackAll(yielded);
    }
  }

  async size(): Promise<number> {
    return deliveryOrder((await this.#driver.children(this.#items)).nodes).length;
  }

  /** The fast path: claims the first unclaimed item if nobody waits in line. */
  async #takeAtOnce(session: Session): Promise<QueueMessage<T> | undefined> {
    const [items, claims, takers] = await Promise.all([
      this.#driver.children(this.#items),
      this.#driver.children(this.#claims),
      this.#driver.children(this.#takers.path),
    ]);
    if (takers.nodes.length > 0) return undefined;
    return this.#claimFirst(unclaimed(deliveryOrder(items.nodes), claims.nodes), session);
  }

  /**
   * The head of the line's watch loop: claim the first unclaimed item, else wait for a new
   * item or (when every item is claimed) a claim to go, then look again.
   */
  async #waitAtHead(session: Session, signal: AbortSignal): Promise<QueueMessage<T>> {
    for (;;) {
      const message = await watchStep(signal, (watchSignal, cancel) => this.#lookAtHead(session, signal, watchSignal, cancel));
      if (message !== undefined) return message;
    }
  }

  /**
   * One look of the head of the line, its watches armed with `watchSignal`: the message it
   * claimed, or undefined once something changed (or every candidate was taken under us).
   */
  async #lookAtHead(session: Session, signal: AbortSignal, watchSignal: AbortSignal, cancel: () => void): Promise<QueueMessage<T> | undefined> {
    const items = await this.#driver.children(this.#items, { watch: true, signal: watchSignal });
    const changes: Promise<WatchEvent>[] = [items.changed ?? Promise.resolve('changed')];
    const pending = deliveryOrder(items.nodes);
    if (pending.length > 0) {
      const claims = await this.#driver.children(this.#claims, { watch: true, signal: watchSignal });
      const free = unclaimed(pending, claims.nodes);
      if (free.length > 0) {
        // Drop the watches first: our own claim would otherwise fire the claims watch.
        cancel();
        return this.#claimFirst(free, session); // undefined: every candidate was taken under us
      }
      changes.push(claims.changed ?? Promise.resolve('changed'));
    }
    await raceAbort(Promise.race(changes), signal, this.#what);
    throwIfAborted(signal, this.#what);
    return undefined;
  }

  /** Claims the first of `candidates` that can still be had. */
  async #claimFirst(candidates: readonly Item[], session: Session): Promise<QueueMessage<T> | undefined> {
    for (const item of candidates) {
      const claimed = await claimItem(this.#driver, this.#claims, item, session, this.#what);
      if (claimed !== undefined) {
        return new QueueMessage(this.#driver, item, claimed.claim, session, claimed.data, this.#codec, this.#what);
      }
    }
    return undefined;
  }
}

/** The options of a wait that started at `startedAt`, with the time already spent taken off. */
function remaining(options: WaitOptions, startedAt: number): WaitOptions {
  const rest = options.timeout === undefined ? {} : { timeout: Math.max(0, options.timeout - (performance.now() - startedAt)) };
  return options.signal === undefined ? rest : { ...rest, signal: options.signal };
}
