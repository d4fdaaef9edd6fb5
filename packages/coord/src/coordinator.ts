/**
 * The Coordinator: one session on one backend, and the factory of every recipe. Recipes it
 * returns are descriptions (no I/O until used); everything they hold is bound to the
 * coordinator's session and released when it closes.
 */
import { CoordError, type Driver, type Session, type SessionStateChange } from '@coord/core';
import { QueueLock, type Lock } from '@coord/recipes';
import { DistributedQueue, type Queue, type QueueOptions } from '@coord/recipes';

/** Events a {@link Coordinator} emits. */
export interface CoordinatorEvents {
  /** A session state transition (including the switch to a fresh session after expiry). */
  state: (change: SessionStateChange) => void;
}

/** A connection to a coordination backend. Close it (or `await using` it) when done. */
export class Coordinator implements AsyncDisposable {
  /**
   * The driver underneath, for custom recipes and tests. Recipes written against it run on
   * every backend.
   */
  readonly driver: Driver;
  /** The URL this coordinator connected to, with the password redacted. */
  readonly url: string;
  readonly #listeners = new Map<keyof CoordinatorEvents, Set<CoordinatorEvents[keyof CoordinatorEvents]>>();
  readonly #unsubscribe: () => void;
  #closing: Promise<void> | undefined;

  /** Use `connect(url)`; this constructor is for drivers built by hand. */
  constructor(driver: Driver, redactedUrl: string) {
    this.driver = driver;
    this.url = redactedUrl;
    this.#unsubscribe = driver.onSessionState((change) => this.#emit('state', change));
  }

  /** The current session: `id`, `ttlMs`, `state`, `signal`. */
  get session(): Session {
    return this.driver.session;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * A FIFO, non re-entrant distributed lock at `path`. No I/O until used.
   * @example
   * ```ts
   * await using held = await coord.lock('/stack/42').acquire({ timeout: 5_000 });
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path.
   */
  lock(path: string): Lock {
    this.#checkOpen();
    return new QueueLock(this.driver, path);
  }

  /**
   * A distributed queue at `path`: priorities (lower first), FIFO within a priority, and
   * at-least-once delivery — a taken message is claimed by this coordinator's session and
   * comes back to the queue on `nack()` or when the session ends; an acked message is never
   * delivered again. Values go through `options.codec` (default JSON; `rawCodec` passes
   * `Uint8Array` through). No I/O until used.
   * @example
   * ```ts
   * const jobs = coord.queue<{ file: string }>('/jobs');
   * await jobs.put({ file: 'a.png' });
   * await using message = await jobs.take({ timeout: 10_000 });
   * await resize(message.value.file);
   * await message.ack();
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path, `CLOSED` after `close()`.
   */
  queue<T = unknown>(path: string, options: QueueOptions<T> = {}): Queue<T> {
    this.#checkOpen();
    return new DistributedQueue<T>(this.driver, path, options);
  }

  /**
   * Subscribes to an event.
   * @example `coord.on('state', ({ state }) => console.log('session', state))`
   */
  on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  /** Unsubscribes a listener added with {@link Coordinator.on}. */
  off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  /**
   * Ends the session: everything it held is released at once for the others, every handle's
   * signal aborts, and pending calls reject with `CLOSED`. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.driver.close().finally(() => {
      this.#unsubscribe();
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toJSON(): { url: string; backend: string; session: string; state: string } {
    const session = this.driver.session;
    return { url: this.url, backend: this.driver.name, session: session.id, state: session.state };
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new CoordError('CLOSED', `coord ${this.url}: coordinator is closed`);
  }

  #emit<E extends keyof CoordinatorEvents>(event: E, ...args: Parameters<CoordinatorEvents[E]>): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<CoordinatorEvents[E]>) => void)(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
