/**
 * A reusable {@link Session} for drivers: the state machine, the signal, and the local
 * deadline. The deadline is what makes a handle's signal fire *before* the server could give
 * its resource away: it is the monotonic send time of the last acknowledged renewal plus the
 * TTL the server granted, minus a safety margin — the server cannot expire the session
 * earlier than the renewal's arrival plus the TTL, which is later.
 */
import { CoordError } from './errors.js';
import type { Session, SessionState, SessionStateChange } from './driver.js';

/**
 * The safety margin subtracted from a session's TTL for its local deadline: a fifth of the
 * TTL, at most two seconds. It absorbs timer lateness and scheduling delay on the client.
 */
export function safetyMargin(ttlMs: number): number {
  return Math.min(ttlMs / 5, 2_000);
}

/** Milliseconds on a monotonic clock (never goes backwards when the wall clock is set). */
export function monotonicNow(): number {
  return performance.now();
}

/** A session whose driver reports renewals and state changes to it. */
export class ManagedSession implements Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly #controller = new AbortController();
  readonly #onChange: (change: SessionStateChange) => void;
  readonly #onDeadline: (session: ManagedSession) => void;
  #state: SessionState = 'connected';
  #deadline: number;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param id the backend's session id
   * @param ttlMs the TTL the server granted
   * @param openedAt monotonic send time of the request that opened the session
   * @param onChange told of every state transition
   * @param onDeadline called when the local deadline passes before a renewal; the driver
   *   should then expire the session (and stop using it)
   */
  constructor(
    id: string,
    ttlMs: number,
    openedAt: number,
    onChange: (change: SessionStateChange) => void,
    onDeadline: (session: ManagedSession) => void,
  ) {
    this.id = id;
    this.ttlMs = ttlMs;
    this.#onChange = onChange;
    this.#onDeadline = onDeadline;
    this.#deadline = openedAt;
    this.renewed(openedAt);
  }

  get state(): SessionState {
    return this.#state;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the session is expired or closed. */
  get ended(): boolean {
    return this.#state === 'expired' || this.#state === 'closed';
  }

  /** Monotonic time after which the session may be gone. */
  get deadline(): number {
    return this.#deadline;
  }

  /** A renewal sent at monotonic time `sentAt` was acknowledged. */
  renewed(sentAt: number): void {
    if (this.ended) return;
    const deadline = sentAt + this.ttlMs - safetyMargin(this.ttlMs);
    if (deadline <= this.#deadline && this.#timer !== undefined) return;
    this.#deadline = deadline;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#deadlinePassed(), Math.max(0, deadline - monotonicNow()));
  }

  #deadlinePassed(): void {
    this.#timer = undefined;
    if (this.ended) return;
    const late = monotonicNow() - this.#deadline;
    if (late < 0) {
      this.#timer = setTimeout(() => this.#deadlinePassed(), -late);
      return;
    }
    this.#onDeadline(this);
  }

  /** The connection dropped; the session may still be alive on the server. */
  suspend(): void {
    if (this.ended) return; // terminal states stay terminal
    this.#transition('suspended');
  }

  /** The connection came back within the session's life. */
  resume(): void {
    if (this.#state === 'suspended') this.#transition('connected');
  }

  /** The session is gone for good: aborts the signal with `SESSION_EXPIRED`. Idempotent. */
  expire(detail = 'expired'): void {
    if (this.ended) return;
    this.#finish('expired', new CoordError('SESSION_EXPIRED', `session ${this.id} ${detail}`));
  }

  /** The session was closed by its owner: aborts the signal with `CLOSED`. Idempotent. */
  close(): void {
    if (this.ended) return;
    this.#finish('closed', new CoordError('CLOSED', `session ${this.id} closed`));
  }

  #finish(state: 'expired' | 'closed', reason: CoordError): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // State first, so abort listeners already read the terminal state; then abort, so state
    // listeners see every bound handle already aborted.
    const previous = this.#state;
    this.#state = state;
    this.#controller.abort(reason);
    this.#onChange({ session: this, previous, state });
  }

  #transition(state: SessionState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#onChange({ session: this, previous, state });
  }

  /** The session's public face, for logs. */
  toJSON(): { id: string; ttlMs: number; state: SessionState } {
    return { id: this.id, ttlMs: this.ttlMs, state: this.#state };
  }
}
