/**
 * A message taken from a queue: the item's value, and the claim that makes this consumer
 * its only holder. Settling is serialised per message, so concurrent `ack()`/`nack()`/dispose
 * calls run one after the other and each sees the state the previous one left.
 *
 * Ack deletes the item first and the claim second: were the claim deleted first, another
 * consumer could claim the still-present item and receive a message that is about to be
 * acked. Nack deletes only the claim, so the item is delivered again, in its old place.
 */
import { CoordError, isCoordError, type Codec, type Driver, type NodeRef, type Session } from '@coord/core';
import { NodeLease } from '../lease.js';
import type { Item } from './queue-items.js';

/** Where a taken message stands: held, acked (final) or nacked (back in the queue). */
export type MessageState = 'held' | 'acked' | 'nacked';

/**
 * A message taken from a queue, held by this consumer's session until it is acked or
 * nacked. Disposing a message that was not acked nacks it.
 * @example
 * ```ts
 * await using message = await queue.take({ timeout: 10_000 });
 * await charge(message.value, { idempotencyKey: message.id, fencingToken: message.token, signal: message.signal });
 * await message.ack();
 * ```
 */
export interface Message<T> extends AsyncDisposable {
  /**
   * The decoded value.
   * @throws CoordError `INVALID_ARGUMENT` if the codec cannot decode the stored bytes (a
   *   poison message): `ack()` it to drop it, after saving `data` elsewhere if need be.
   */
  readonly value: T;
  /** The stored bytes, as put. */
  readonly data: Uint8Array;
  /** The message id: the same for every delivery of this message (use it to deduplicate). */
  readonly id: string;
  /** The message's priority. */
  readonly priority: number;
  /** Fencing token of this delivery: strictly greater for every later delivery of the message. */
  readonly token: bigint;
  /** Aborted as soon as this consumer may no longer hold the message (its claim may be gone). */
  readonly signal: AbortSignal;
  /** Where the message stands. */
  readonly state: MessageState;
  /**
   * Marks the message done: it is never delivered again. Idempotent.
   * @throws CoordError `SESSION_EXPIRED`/`CLOSED`/`LOST` if the claim is gone (the message
   *   will be delivered again), `LOST` after `nack()`, or a backend error (retry `ack()`).
   */
  ack(): Promise<void>;
  /**
   * Returns the message to the queue, in its old place, to be delivered again. Idempotent;
   * a no-op after `ack()` and after the claim went with its session.
   * @throws CoordError a backend error while the session lives (retry `nack()`).
   */
  nack(): Promise<void>;
}

type Decoded<T> = { readonly value: T } | { readonly error: unknown };

/** The {@link Message} a queue's `take()` returns. */
export class QueueMessage<T> implements Message<T> {
  readonly id: string;
  readonly priority: number;
  readonly data: Uint8Array;
  readonly token: bigint;
  readonly #driver: Driver;
  readonly #itemPath: string;
  readonly #claim: NodeLease;
  readonly #session: Session;
  readonly #codec: Codec<T>;
  readonly #what: string;
  #decoded: Decoded<T> | undefined;
  #state: MessageState = 'held';
  /** Whether the caller looked at `signal` (which then watches the claim and can say LOST). */
  #signalRead = false;
  #tail: Promise<void> = Promise.resolve();

  /**
   * @param driver the driver the claim was made with
   * @param item the claimed item
   * @param claim the claim node (ephemeral, owned by `session`)
   * @param session the session the claim is bound to
   * @param data the item's stored bytes
   * @param codec decodes `data` into `value`
   * @param queue for messages: `queue /jobs`
   */
  constructor(driver: Driver, item: Item, claim: NodeRef, session: Session, data: Uint8Array, codec: Codec<T>, queue: string) {
    this.id = item.node.name;
    this.priority = item.priority;
    this.data = data;
    this.token = claim.token;
    this.#driver = driver;
    this.#itemPath = item.node.path;
    this.#session = session;
    this.#codec = codec;
    this.#what = `${queue} message ${this.id}`;
    this.#claim = new NodeLease(driver, claim, session, this.#what);
  }

  get value(): T {
    this.#decoded ??= decode(this.#codec, this.data);
    if ('error' in this.#decoded) throw this.#decoded.error;
    return this.#decoded.value;
  }

  get signal(): AbortSignal {
    this.#signalRead = true;
    return this.#claim.signal;
  }

  get state(): MessageState {
    return this.#state;
  }

  ack(): Promise<void> {
    return this.#serial(() => this.#ack());
  }

  nack(): Promise<void> {
    return this.#serial(() => this.#nack());
  }

  /** Nacks the message unless it was acked (then only tidies the claim up). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.nack();
  }

  toJSON(): { id: string; token: string; priority: number; state: MessageState } {
    return { id: this.id, token: this.token.toString(), priority: this.priority, state: this.#state };
  }

  async #ack(): Promise<void> {
    if (this.#state === 'nacked') throw new CoordError('LOST', `${this.#what}: cannot ack, it was nacked and is no longer held`);
    if (this.#state === 'held') {
      this.#checkStillHeld();
      // The commit point. `false` (already gone) can only mean someone deleted it by hand.
      await this.#driver.delete(this.#itemPath);
      this.#state = 'acked';
    }
    await this.#claim.release();
  }

  async #nack(): Promise<void> {
    if (this.#state === 'held') this.#state = 'nacked';
    // An acked message only tidies its claim up; the release is idempotent and does not
    // throw once the claim went with its session.
    await this.#claim.release();
  }

  /**
   * Refuses to ack a message whose claim may be gone: another consumer may hold it by now,
   * and deleting its item would ack a delivery this consumer no longer owns. Claims are only
   * deleted by their holder or with their session, so the session says it all — unless the
   * caller watched `signal`, which also reports a claim deleted by hand.
   */
  #checkStillHeld(): void {
    const lost = this.#session.signal.aborted
      ? this.#session.signal
      : this.#signalRead && this.#claim.signal.aborted
        ? this.#claim.signal
        : undefined;
    if (lost === undefined) return;
    const reason: unknown = lost.reason;
    const code = isCoordError(reason) ? reason.code : 'LOST';
    throw new CoordError(code, `${this.#what}: cannot ack, its claim is gone (the message will be delivered again)`, { cause: reason });
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(step);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

function decode<T>(codec: Codec<T>, data: Uint8Array): Decoded<T> {
  try {
    return { value: codec.decode(data) };
  } catch (error) {
    return { error };
  }
}

/** Nacks every message still held; throws the first failure after trying them all. */
export async function nackAll<T>(messages: Iterable<QueueMessage<T>>): Promise<void> {
  const held = [...messages].filter((message) => message.state === 'held');
  const results = await Promise.allSettled(held.map((message) => message.nack()));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
