/**
 * The {@link Session} the driver hands out: a stable view of one ZooKeeper session that may
 * still be opening. After an expiry the driver starts opening the next session at once and
 * hands out its view, so a recipe called meanwhile binds to the session that is coming (its
 * requests wait for it) instead of failing on the one that is gone. Until the server grants
 * it the view is `suspended`, has no id yet and the TTL that was asked for; once bound it
 * shows the granted session, and its `signal` aborts with that session's.
 */
import { CoordError, type ManagedSession, type Session, type SessionState } from '@coord/core';

/** A session as recipes see it, possibly not granted yet. */
export class SessionView implements Session {
  readonly #controller = new AbortController();
  readonly #requestedTtl: number;
  #managed: ManagedSession | undefined;

  constructor(requestedTtl: number) {
    this.#requestedTtl = requestedTtl;
  }

  /** The view of a session that is already open. */
  static of(managed: ManagedSession): SessionView {
    const view = new SessionView(managed.ttlMs);
    view.bind(managed);
    return view;
  }

  get id(): string {
    return this.#managed?.id ?? '';
  }

  get ttlMs(): number {
    return this.#managed?.ttlMs ?? this.#requestedTtl;
  }

  get state(): SessionState {
    if (this.#managed !== undefined) return this.#managed.state;
    return this.#controller.signal.aborted ? 'closed' : 'suspended';
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The granted session, once bound. */
  get managed(): ManagedSession | undefined {
    return this.#managed;
  }

  /** Binds the view to the session the server granted. */
  bind(managed: ManagedSession): void {
    this.#managed = managed;
    if (managed.signal.aborted) this.#controller.abort(managed.signal.reason);
    else managed.signal.addEventListener('abort', () => this.#controller.abort(managed.signal.reason), { once: true });
  }

  /** The driver closed before the session was granted. */
  close(reason: CoordError): void {
    if (this.#managed === undefined) this.#controller.abort(reason);
  }

  toJSON(): { id: string; ttlMs: number; state: SessionState } {
    return { id: this.id, ttlMs: this.ttlMs, state: this.state };
  }
}
