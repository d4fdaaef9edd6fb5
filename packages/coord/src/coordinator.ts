/**
 * The Coordinator: one session on one backend, and the factory of every recipe. Recipes it
 * returns are descriptions (no I/O until used); everything they hold is bound to the
 * coordinator's session and released when it closes.
 */
import { CoordError, ListenerSet, checkCallback, type Driver, type Session, type SessionStateChange } from '@coord/core';
import {
  QueueRecipe,
  GroupRecipe,
  SemaphoreRecipe,
  listGroups,
  BarrierRecipe,
  DoubleBarrierRecipe,
  ElectionRecipe,
  LockRecipe,
  ReadWriteLockRecipe,
  type Barrier,
  type DoubleBarrier,
  type DoubleBarrierOptions,
  type Election,
  type ElectionOptions,
  type Group,
  type GroupOptions,
  type Lock,
  type Queue,
  type QueueOptions,
  type ReadWriteLock,
  type Semaphore,
  type SemaphoreOptions,
} from '@coord/recipes';

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
  /** Listeners of each event (`state` is the only one). */
  readonly #listeners = { state: new ListenerSet<Parameters<CoordinatorEvents['state']>>("coord.on('state') listener") };
  readonly #unsubscribe: () => void;
  #closing: Promise<void> | undefined;

  /** Use `connect(url)`; this constructor is for drivers built by hand. */
  constructor(driver: Driver, redactedUrl: string) {
    this.driver = driver;
    this.url = redactedUrl;
    this.#unsubscribe = driver.onSessionState((change) => this.#listeners.state.emit(change));
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
    return new LockRecipe(this.driver, path);
  }

  /**
   * A FIFO read-write lock at `path`: `read` is shared by any number of readers, `write` is
   * exclusive. A reader waits only for writers queued ahead of it; a writer waits for
   * everyone ahead; a reader arriving after a waiting writer queues behind it, so writers
   * never starve. Both sides are {@link Lock}s with fencing tokens. No I/O until used.
   * @example
   * ```ts
   * const rw = coord.rwlock('/config');
   * const value = await rw.read.withLock(async () => readConfig());
   * await using held = await rw.write.acquire({ timeout: 5_000 });
   * await writeConfig({ fencingToken: held.token });
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path; `CLOSED` after `close()`.
   */
  rwlock(path: string): ReadWriteLock {
    this.#checkOpen();
    return new ReadWriteLockRecipe(this.driver, path);
  }

  /**
   * A counting semaphore at `path`: at most `permits` holders at once, waiters served FIFO
   * without a herd, and a dead holder's permit returned with its session. Every client of
   * one semaphore must use the same `permits`; one that disagrees fails with `CONFLICT`.
   * No I/O until used.
   * @example
   * ```ts
   * const renderers = coord.semaphore('/render', { permits: 3 });
   * await renderers.withLock(async (permit) => render({ signal: permit.signal }), { timeout: 10_000 });
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path or a `permits` that is not a
   *   positive safe integer; `CLOSED` after `close()`.
   */
  semaphore(path: string, options: SemaphoreOptions): Semaphore {
    this.#checkOpen();
    return new SemaphoreRecipe(this.driver, path, options);
  }

  /**
   * A barrier at `path` (Curator's DistributedBarrier): `wait()` blocks while it is raised.
   * `raise({ ephemeral: true })` ties the raise to this session, so a raiser that dies lowers
   * it. Raising a raised barrier and lowering a lowered one are no-ops. No I/O until used.
   * @example
   * ```ts
   * const freeze = coord.barrier('/deploy/freeze');
   * await freeze.raise({ ephemeral: true });
   * // elsewhere: await coord.barrier('/deploy/freeze').wait({ timeout: 60_000 });
   * await freeze.lower();
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path.
   */
  barrier(path: string): Barrier {
    this.#checkOpen();
    return new BarrierRecipe(this.driver, path);
  }

  /**
   * A double barrier at `path` for rounds of `count` members: nobody gets through `enter()`
   * until `count` are in, nobody through `leave()` until all of them have left. A member whose
   * session dies counts as gone. The path can be reused for any number of rounds. No I/O
   * until used.
   * @example
   * ```ts
   * const member = await coord.doubleBarrier('/jobs/run-7', { count: 5 }).enter({ timeout: 30_000 });
   * await compute();
   * await member.leave({ timeout: 30_000 });
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path or a count that is not a
   *   positive safe integer.
   */
  doubleBarrier(path: string, options: DoubleBarrierOptions): DoubleBarrier {
    this.#checkOpen();
    return new DoubleBarrierRecipe(this.driver, path, options);
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
    return new QueueRecipe<T>(this.driver, path, options);
  }

  /**
   * A leader election at `path`: candidates lead one at a time, in campaign order; a leader
   * whose session dies is replaced by the next in line. Values go through `options.codec`
   * (default JSON). No I/O until used.
   * @example
   * ```ts
   * const election = coord.election<string>('/services/billing');
   * await using leadership = await election.campaign('node-a', { timeout: 10_000 });
   * console.log((await election.leader())?.value); // 'node-a'
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path.
   */
  election<T = unknown>(path: string, options: ElectionOptions<T> = {}): Election<T> {
    this.#checkOpen();
    return new ElectionRecipe<T>(this.driver, path, options);
  }

  /**
   * A group (Tooz-style membership) named `name`: `create()`, `delete()`, `join(id)`,
   * `members()`, `watch()`. Groups live under a reserved root (`/.coord/groups`), apart from
   * every path-based recipe. No I/O until used.
   * @example
   * ```ts
   * const workers = coord.group<{ slots: number }>('workers');
   * await workers.create().catch((e) => { if (!isCoordError(e, 'GROUP_EXISTS')) throw e; });
   * await using me = await workers.join('worker-1', { capabilities: { slots: 4 }, rejoin: true });
   * console.log(await workers.members()); // Map { 'worker-1' => { slots: 4 } }
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed name (empty, `/`, `.`, `..`).
   */
  group<T = unknown>(name: string, options?: GroupOptions<T>): Group<T> {
    this.#checkOpen();
    return new GroupRecipe<T>(this.driver, name, options);
  }

  /**
   * The names of every group (those made by `group(name).create()`), sorted.
   * @example `const names = await coord.groups(); // ['workers']`
   * @throws CoordError `CLOSED`.
   */
  async groups(): Promise<string[]> {
    this.#checkOpen();
    return listGroups(this.driver);
  }

  /**
   * Subscribes to an event. A listener that throws does not stop the others: its exception
   * is reported as a process warning (`CoordListenerWarning`), never as an uncaught exception.
   * @example `coord.on('state', ({ state }) => console.log('session', state))`
   * @throws CoordError `INVALID_ARGUMENT` for an unknown event or a listener that is not a function.
   */
  on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    checkEvent(event, 'coord.on');
    checkCallback(listener, 'coord.on', 'listener');
    this.#listeners[event].add(listener);
    return this;
  }

  /**
   * Unsubscribes a listener added with {@link Coordinator.on}.
   * @throws CoordError `INVALID_ARGUMENT` for an unknown event or a listener that is not a function.
   */
  off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    checkEvent(event, 'coord.off');
    checkCallback(listener, 'coord.off', 'listener');
    this.#listeners[event].delete(listener);
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

}

const EVENTS: ReadonlySet<string> = new Set<keyof CoordinatorEvents>(['state']);

/** @throws CoordError `INVALID_ARGUMENT` unless `event` is one a {@link Coordinator} emits. */
function checkEvent(event: unknown, what: string): void {
  if (typeof event !== 'string' || !EVENTS.has(event)) {
    throw new CoordError('INVALID_ARGUMENT', `${what}: event must be one of ${[...EVENTS].join(', ')}, got ${String(event)}`);
  }
}
