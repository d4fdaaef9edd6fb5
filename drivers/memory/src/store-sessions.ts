/**
 * The memory store's sessions: ids, TTLs and the ephemeral nodes each owns. A session dies
 * `ttlMs` after its last renewal — by its timer, or on its next use if the timer is late (a
 * frozen process). The store supplies what ending one means for its nodes.
 */
import { CoordError, monotonicNow } from '@coord/core';

/** A session as the store sees it. */
export interface StoredSession {
  readonly id: string;
  readonly ttlMs: number;
  timer: NodeJS.Timeout;
  /**
   * Monotonic time at which the session dies. Checked on every use, not only by `timer`:
   * after the process was frozen (a long pause) the timers fire in due order, and a
   * heartbeat due earlier than the expiry must not revive a session a real server would
   * have expired during the pause.
   */
  expiresAt: number;
  /** Whether heartbeats reach the store (a test hook turns this off). */
  renewing: boolean;
  /** Paths of the ephemeral nodes it owns. */
  readonly ephemerals: Set<string>;
  /** Tells the owning client, synchronously, before its nodes are deleted. */
  readonly onExpired: () => void;
}

/** The sessions of one store. */
export class SessionTable {
  readonly #name: string;
  readonly #deleteEphemerals: (session: StoredSession) => void;
  readonly #byId = new Map<string, StoredSession>();
  #counter = 0;

  /**
   * @param name the store's name (in session ids and messages)
   * @param deleteEphemerals deletes a session's ephemeral nodes (it ended)
   */
  constructor(name: string, deleteEphemerals: (session: StoredSession) => void) {
    this.#name = name;
    this.#deleteEphemerals = deleteEphemerals;
  }

  /** Open sessions, for the store's stats. */
  all(): IterableIterator<StoredSession> {
    return this.#byId.values();
  }

  /** The session `id` if the table still has it (alive or not yet noticed dead). */
  get(id: string): StoredSession | undefined {
    return this.#byId.get(id);
  }

  /** Opens a session that dies `ttlMs` after its last renewal. */
  open(ttlMs: number, onExpired: () => void): string {
    this.#counter += 1;
    const id = `${this.#name}:${this.#counter.toString(16)}:${Math.random().toString(16).slice(2, 10)}`;
    const session: StoredSession = {
      id,
      ttlMs,
      timer: setTimeout(() => this.expire(id), ttlMs),
      expiresAt: monotonicNow() + ttlMs,
      renewing: true,
      ephemerals: new Set(),
      onExpired,
    };
    this.#byId.set(id, session);
    return id;
  }

  /**
   * Renews a session: it now dies `ttlMs` from now. Returns whether the heartbeat reached
   * the store (false while a test stopped renewals).
   * @throws CoordError `SESSION_EXPIRED` if the session is gone.
   */
  renew(id: string): boolean {
    const session = this.live(id);
    if (!session.renewing) return false;
    clearTimeout(session.timer);
    session.timer = setTimeout(() => this.expire(id), session.ttlMs);
    session.expiresAt = monotonicNow() + session.ttlMs;
    return true;
  }

  /** Test hook: heartbeats of this session stop reaching the store (a partition or a pause). */
  stopRenewing(id: string): void {
    const session = this.#byId.get(id);
    if (session !== undefined) session.renewing = false;
  }

  /** Whether the session is alive. */
  has(id: string): boolean {
    return this.#alive(this.#byId.get(id)) !== undefined;
  }

  /**
   * Expires a session now: its owner is told first (synchronously), then its ephemeral
   * nodes are deleted and their watchers notified. No-op for an unknown session.
   */
  expire(id: string): void {
    const session = this.#byId.get(id);
    if (session === undefined) return;
    this.#end(session);
    session.onExpired();
    this.#deleteEphemerals(session);
  }

  /** Ends a session on its owner's request, deleting its ephemeral nodes. */
  close(id: string): void {
    const session = this.#byId.get(id);
    if (session === undefined) return;
    this.#end(session);
    this.#deleteEphemerals(session);
  }

  /**
   * A client gave up on its session (its local deadline passed). The store hears it only if
   * the client can reach it: while renewals are stopped (a simulated partition) this does
   * nothing and the session lives out its TTL, as on a real server.
   */
  abandon(id: string): void {
    if (this.#byId.get(id)?.renewing === true) this.close(id);
  }

  #end(session: StoredSession): void {
    clearTimeout(session.timer);
    this.#byId.delete(session.id);
  }

  /** The session if it is alive; one past its time is expired now (see `expiresAt`). */
  #alive(session: StoredSession | undefined): StoredSession | undefined {
    if (session === undefined || monotonicNow() < session.expiresAt) return session;
    this.expire(session.id);
    return undefined;
  }

  /** The live session `id`. @throws CoordError `SESSION_EXPIRED` if it is gone. */
  live(id: string): StoredSession {
    const session = this.#alive(this.#byId.get(id));
    if (session === undefined) throw new CoordError('SESSION_EXPIRED', `memory ${this.#name}: session ${id} has expired`);
    return session;
  }
}
