/**
 * The client whose process is paused in the process-pause cases: one coordinator that holds
 * a lock, leads an election, holds a queue message and is a group member with `rejoin`, all
 * on one session, then is frozen (SIGSTOP in a child process, or its event loop blocked on
 * memory://) and afterwards says what it saw. The same code runs in a child process
 * (`child.ts`) and in the test's own process, so both modes check one behaviour.
 */
import { isCoordError, type Coordinator, type Leadership, type Lease, type Membership, type Message, type RejoinOutcome } from 'coord';
import { monotonicNow, sleep } from '@coord/core';

/** Where the paused client holds what it holds. */
export interface PausePaths {
  readonly lock: string;
  readonly election: string;
  readonly queue: string;
  readonly group: string;
}

/** The four things held, by name. */
export type Holding = 'lock' | 'election' | 'queue' | 'group';

/** Tokens of what the client holds before the pause (decimal strings: they cross a pipe). */
export type HeldTokens = Record<Holding, string>;

/** What an operation after the pause did: resolved, or rejected with this CoordError code. */
export type Outcome = 'ok' | { readonly code: string } | { readonly untyped: string };

/** What the client saw after the pause. */
export interface PauseReport {
  /** The abort reason's code of every signal that aborted, by holding. */
  readonly aborted: Partial<Record<Holding, string>>;
  /** Outcomes of releasing (or acking) each holding after the pause. */
  readonly released: Record<Holding, Outcome>;
  /** The group rejoin outcome (long pause only): the new incarnation's token, or the error code. */
  readonly rejoin?: { readonly token: string } | { readonly code: string };
  /** Token of a fresh acquisition of the lock after the pause (long pause only). */
  readonly reacquired?: string;
}

/** How long the client waits for each step after the pause before it reports what it has. */
const STEP_MS = 20_000;

/** One coordinator holding a lock, a leadership, a message and a membership. */
export class PausedClient {
  readonly #coord: Coordinator;
  readonly #paths: PausePaths;
  readonly #aborted: Partial<Record<Holding, string>> = {};
  readonly #rejoins: RejoinOutcome[] = [];
  #lease: Lease | undefined;
  #leadership: Leadership<string> | undefined;
  #message: Message<unknown> | undefined;
  #membership: Membership<unknown> | undefined;

  constructor(coord: Coordinator, paths: PausePaths) {
    this.#coord = coord;
    this.#paths = paths;
  }

  /** Takes all four holdings (the queue must have a message, the group must exist). */
  async hold(): Promise<HeldTokens> {
    const timeout = STEP_MS;
    this.#lease = await this.#coord.lock(this.#paths.lock).acquire({ timeout });
    this.#leadership = await this.#coord.election<string>(this.#paths.election).campaign('paused', { timeout });
    this.#message = await this.#coord.queue(this.#paths.queue).take({ timeout });
    this.#membership = await this.#coord.group(this.#paths.group).join('paused', {
      rejoin: true,
      onRejoin: (outcome) => this.#rejoins.push(outcome),
    });
    this.#watch('lock', this.#lease.signal);
    this.#watch('election', this.#leadership.signal);
    this.#watch('queue', this.#message.signal);
    this.#watch('group', this.#membership.signal);
    return {
      lock: String(this.#lease.token),
      election: String(this.#leadership.token),
      queue: String(this.#message.token),
      group: String(this.#membership.token),
    };
  }

  /**
   * After a pause longer than the session: waits until every signal has aborted and the
   * membership has rejoined, releases everything, and acquires the lock again on the fresh
   * session.
   */
  async afterLongPause(): Promise<PauseReport> {
    await until(() => Object.keys(this.#aborted).length === 4 && this.#rejoins.length > 0);
    const released = await this.#releaseAll();
    const outcome = this.#rejoins[0];
    const rejoin = outcome === undefined ? undefined : outcome.rejoined ? { token: String(outcome.token) } : { code: outcome.error.code };
    const again = await this.#coord.lock(this.#paths.lock).acquire({ timeout: STEP_MS });
    const reacquired = String(again.token);
    await again.release();
    return { aborted: { ...this.#aborted }, released, ...(rejoin === undefined ? {} : { rejoin }), reacquired };
  }

  /** After a pause shorter than the session: reports what aborted (nothing should) and releases all. */
  async afterShortPause(): Promise<PauseReport> {
    const aborted = { ...this.#aborted };
    return { aborted, released: await this.#releaseAll() };
  }

  async #releaseAll(): Promise<Record<Holding, Outcome>> {
    return {
      lock: await outcomeOf(this.#lease?.release()),
      election: await outcomeOf(this.#leadership?.resign()),
      queue: await outcomeOf(this.#message?.ack()),
      group: await outcomeOf(this.#membership?.leave()),
    };
  }

  #watch(what: Holding, signal: AbortSignal): void {
    const record = (): void => {
      const reason: unknown = signal.reason;
      this.#aborted[what] = isCoordError(reason) ? reason.code : String(reason);
    };
    if (signal.aborted) record();
    else signal.addEventListener('abort', record, { once: true });
  }
}

/** How an awaited operation ended, for the report. */
async function outcomeOf(operation: Promise<void> | undefined): Promise<Outcome> {
  if (operation === undefined) return { untyped: 'not held' };
  try {
    await operation;
    return 'ok';
  } catch (error) {
    return isCoordError(error) ? { code: error.code } : { untyped: String(error) };
  }
}

/** Polls `done` every 20 ms, for at most {@link STEP_MS}. */
async function until(done: () => boolean): Promise<void> {
  const end = monotonicNow() + STEP_MS;
  while (!done() && monotonicNow() < end) await sleep(20);
}
