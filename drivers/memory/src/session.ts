/**
 * The memory driver's session keeper: the same discipline as the network drivers — a
 * heartbeat every third of the TTL, a local deadline that aborts the session's signal before
 * the store could expire it, and a fresh session after an expiry. The store opens a session
 * synchronously and cannot be unreachable, so the "reopen loop" is one step: the next session
 * is open, and announced (`expired` → `connected`), before `#lost` returns.
 * (Shape shared by every driver: see core's session-keeper.ts.)
 */
import { ManagedSession, monotonicNow, type DriverSettings, type SessionEvents } from '@coord/core';
import type { MemoryStore } from './store.js';

/** Opens, renews and replaces the memory driver's sessions. */
export class SessionKeeper {
  readonly #store: MemoryStore;
  readonly #settings: DriverSettings;
  readonly #events: SessionEvents;
  #session: ManagedSession | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: MemoryStore, settings: DriverSettings, events: SessionEvents) {
    this.#store = store;
    this.#settings = settings;
    this.#events = events;
  }

  /** The current session. */
  get current(): ManagedSession {
    if (this.#session === undefined) throw new Error('memory: SessionKeeper.start() was not called');
    return this.#session;
  }

  /** Opens the first session. */
  start(): void {
    this.#session = this.#open();
  }

  /** Stops renewing and ends the current session on the store. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    const session = this.current;
    this.#store.closeSession(session.id);
    session.close();
    this.#events.onEnded(session);
  }

  #open(): ManagedSession {
    const ttl = this.#settings.sessionTimeout;
    const openedAt = monotonicNow();
    const id = this.#store.openSession(ttl, () => this.#lost(session, 'expired on the store'));
    const session = new ManagedSession(id, ttl, openedAt, (change) => this.#events.onChange(change), (lost) =>
      this.#lost(lost, 'passed its local deadline without a renewal'),
    );
    this.#startHeartbeat(session);
    return session;
  }

  #startHeartbeat(session: ManagedSession): void {
    this.#heartbeat = setInterval(() => {
      const sentAt = monotonicNow();
      if (!this.#store.hasSession(session.id)) return;
      if (this.#store.renewSession(session.id)) session.renewed(sentAt);
    }, Math.max(1, Math.floor(session.ttlMs / 3)));
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** The one place a session ends: expire it, tell the driver and the store, open the next one. */
  #lost(session: ManagedSession, why: string): void {
    if (session !== this.#session || session.ended) return;
    this.#stopHeartbeat();
    session.expire(why);
    this.#events.onEnded(session);
    // A client that gave up on its session tells the store, if the store can hear it.
    this.#store.abandonSession(session.id);
    if (this.#closed) return;
    const next = this.#open();
    this.#session = next;
    this.#events.onChange({ session: next, previous: 'expired', state: 'connected' });
  }
}
