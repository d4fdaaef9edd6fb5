/**
 * Sessions on Redis. A session is a key `{P}:s:<id>` set with `PX <ttl>`; a heartbeat every
 * third of the TTL renews it with a script that fails if the key is gone. A missing key is a
 * TERMINAL expiry: the key is never re-created, so a session the server has let go (TTL ran
 * out, the key was deleted, the server restarted empty) stays dead, and with it every node it
 * owned (see `scripts.ts`). The local deadline ({@link ManagedSession}) is the send time of
 * the last acknowledged renewal + TTL − margin, so a handle's signal aborts before the server
 * could let the key expire.
 *
 * After an expiry the keeper opens the next session at once, in the background, and reports
 * it (`expired` -> `connected`, as the reference driver does) once its key exists on the
 * server. Ephemeral creates wait for that (within their deadline), so a recipe that captured
 * the new session can carry on with it.
 */
import { randomUUID } from 'node:crypto';
import { CoordError, ManagedSession, isCoordError, monotonicNow, sleep, type DriverSettings, type SessionEvents } from '@coord/core';
import type { Connection } from './connection.js';
import type { Layout } from './layout.js';
import { SCRIPTS, type Script } from './scripts.js';

/** Pause between two failed attempts to create a session's key. */
const RETRY_MS = 200;

/** How long a session's ephemeral index outlives its last renewal: it only has to outlive the session. */
export function indexTtl(ttlMs: number): number {
  return ttlMs * 2;
}

/** A session and whether its key is known to exist on the server. */
interface Entry {
  readonly session: ManagedSession;
  established: boolean;
  readonly waiters: Set<() => void>;
}

/** Opens, renews and replaces the driver's sessions. */
export class SessionKeeper {
  readonly #conn: Connection;
  readonly #layout: Layout;
  readonly #settings: DriverSettings;
  readonly #events: SessionEvents;
  #entry: Entry;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;
  #redirect: number | undefined;
  /** Sessions given up locally whose end the server has not confirmed, with when to stop trying. */
  readonly #abandoned = new Map<string, number>();
  #tracking: Promise<void> = Promise.resolve();
  #sessions = 0;
  #closed = false;

  constructor(conn: Connection, layout: Layout, settings: DriverSettings, events: SessionEvents) {
    this.#conn = conn;
    this.#layout = layout;
    this.#settings = settings;
    this.#events = events;
    this.#entry = this.#newEntry();
    // A dropped connection suspends the session at once; a new one renews it at once (and
    // turns tracking back on: it belongs to the connection).
    conn.client.on('close', () => {
      if (this.#entry.established) this.#entry.session.suspend();
    });
    conn.client.on('ready', () => {
      void this.#beat();
      void this.track();
      for (const id of this.#abandoned.keys()) void this.#abandon(id);
    });
  }

  /** The current session (possibly still being established on the server). */
  get current(): ManagedSession {
    return this.#entry.session;
  }

  /** The key whose existence is the current session's life. */
  get key(): string {
    return this.#layout.session(this.#entry.session.id);
  }

  /**
   * Establishes the first session within `deadline` (the connect call's).
   * @throws CoordError as {@link Connection.run}; `SESSION_EXPIRED` if it could not be made in time.
   */
  async start(deadline: number): Promise<void> {
    const entry = this.#entry;
    await this.#establish(entry, deadline);
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(1, Math.floor(this.#settings.sessionTimeout / 3)));
  }

  /**
   * Waits until `session` exists on the server (at once if it does).
   * @throws CoordError `SESSION_EXPIRED`/`CLOSED` if it ended first; `TIMEOUT` at `deadline`.
   */
  async established(session: ManagedSession, deadline: number, signal?: AbortSignal): Promise<void> {
    const entry = this.#entry;
    if (entry.session !== session || session.ended) throw endedError(session);
    if (entry.established) return;
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: CoordError): void => {
        clearTimeout(timer);
        entry.waiters.delete(onEvent);
        session.signal.removeEventListener('abort', onEvent);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onEvent = (): void => finish(session.ended ? endedError(session) : undefined);
      const onAbort = (): void => finish(new CoordError('ABORTED', `redis: waiting for session ${session.id}: aborted`));
      const timer = setTimeout(
        () => finish(new CoordError('TIMEOUT', `redis: session ${session.id} not established on the server within the deadline`)),
        Math.max(0, deadline - monotonicNow()),
      );
      entry.waiters.add(onEvent);
      session.signal.addEventListener('abort', onEvent, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Asks the server to tell the tracking connection (client `redirect`, or the last one
   * given) the moment anyone else modifies or deletes the current session key, or it expires
   * (`CLIENT TRACKING … BCAST PREFIX <key> NOLOOP`: our own renewals do not count). Best
   * effort: without it the next heartbeat finds a lost session.
   */
  track(redirect?: number): Promise<void> {
    if (redirect !== undefined) this.#redirect = redirect;
    // One at a time: two interleaved off/on pairs could leave a stale prefix tracked.
    this.#tracking = this.#tracking.then(() => this.#trackNow());
    return this.#tracking;
  }

  async #trackNow(): Promise<void> {
    const id = this.#redirect;
    const entry = this.#entry;
    if (id === undefined || !entry.established || entry.session.ended || !this.#conn.ready || this.#closed) return;
    const key = this.#layout.session(entry.session.id);
    const deadline = monotonicNow() + this.#settings.operationTimeout;
    try {
      await this.#conn.command('CLIENT', ['TRACKING', 'off'], deadline);
      await this.#conn.command('CLIENT', ['TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', 'PREFIX', key, 'NOLOOP'], deadline);
    } catch {
      // Not supported or not permitted (a proxy, an ACL): the heartbeat alone finds a lost session.
    }
  }

  /**
   * Someone else modified these keys: if the current session's key is among them, it was
   * deleted or expired, and the session is over, now. `undefined` means a database was
   * flushed — Redis does not say which — so a renewal finds out whether it was ours (if it
   * was, our nodes went with it: nothing can be granted early).
   */
  invalidated(keys: readonly string[] | undefined): void {
    const entry = this.#entry;
    if (!entry.established || entry.session.ended || this.#closed) return;
    if (keys === undefined) {
      void this.#beat();
      return;
    }
    if (keys.includes(this.#layout.session(entry.session.id))) this.#lost(entry.session, 'was deleted on the server');
  }

  /**
   * Ends the current session on the server (its key and ephemeral nodes go, their watchers
   * are told) within `deadline`, best effort, and closes it locally. Idempotent.
   */
  async close(deadline: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    const { session } = this.#entry;
    if (!session.ended && this.#conn.ready) await this.#end(session.id, deadline).catch(() => undefined);
    session.close();
    this.#wake(this.#entry);
    this.#events.onEnded(session);
  }

  #newEntry(): Entry {
    const ttl = this.#settings.sessionTimeout;
    const waiters = new Set<() => void>();
    const entry: Entry = {
      session: new ManagedSession(
        randomUUID().replaceAll('-', ''),
        ttl,
        monotonicNow(),
        (change) => this.#events.onChange(change),
        (late) => {
          // A session not yet on the server owns nothing and cannot lapse: its deadline starts
          // with the write that creates its key (establishing it re-arms the timer).
          if (entry.established) this.#lost(late, 'passed its local deadline without a renewal');
        },
      ),
      established: false,
      waiters,
    };
    return entry;
  }

  /** Creates the session key (`SET PX`), retrying while the session lives and time remains. */
  async #establish(entry: Entry, deadline: number): Promise<void> {
    const { session } = entry;
    const key = this.#layout.session(session.id);
    for (;;) {
      const sentAt = monotonicNow();
      try {
        // Not NX: a repeat whose first try was applied (reply lost) must restart the TTL from
        // this request, the one whose send time the local deadline counts from. The id is ours
        // alone, and nothing is bound to the session before this succeeds.
        await this.#conn.pipeline([['SET', key, '1', 'PX', session.ttlMs]], Math.min(deadline, sentAt + session.ttlMs / 3), this.#lease(session));
        if (session.ended) return;
        entry.established = true;
        session.renewed(sentAt);
        this.#sessions += 1;
        // Like the reference driver: a fresh session after an expiry reports expired -> connected.
        if (this.#sessions > 1) this.#events.onChange({ session, previous: 'expired', state: 'connected' });
        this.#wake(entry);
        void this.track();
        return;
      } catch (error) {
        if (session.ended || this.#closed || monotonicNow() >= deadline) throw error;
        if (isCoordError(error) && !error.retryable) throw error; // refused (AUTH_FAILED...): no use repeating
        // Never spin: a connection that fails at once would starve the event loop.
        await sleep(RETRY_MS, this.#conn.closedSignal).catch(() => undefined);
        await this.#conn.whenReady(deadline).catch(() => undefined);
      }
    }
  }

  /** One renewal. A missing key ends the session for good; a failed request only suspends it. */
  async #beat(): Promise<void> {
    const entry = this.#entry;
    const { session } = entry;
    if (this.#beating || !entry.established || session.ended || this.#closed) return;
    this.#beating = true;
    const sentAt = monotonicNow();
    try {
      // The key's TTL by plain commands, not a script: tracking's NOLOOP only knows our own
      // connection as the writer of commands it runs itself (a script's writes to the key
      // would notify us of our own renewal). The lease record follows in the same write.
      const [alive] = await this.#conn.pipeline(
        [
          ['PEXPIRE', this.#layout.session(session.id), session.ttlMs],
          ['PEXPIRE', this.#layout.ephemeralIndex(session.id), indexTtl(session.ttlMs)],
        ],
        sentAt + session.ttlMs / 3,
        this.#lease(session),
      );
      if (Number(alive) === 1) {
        session.renewed(sentAt);
        session.resume();
      } else {
        this.#lost(session, 'expired on the server (its key is gone)');
      }
    } catch {
      // No answer: the session may live on the server. The local deadline decides.
      session.suspend();
    } finally {
      this.#beating = false;
    }
  }

  /** The session is over: expire it, tell the server if it can hear us, open the next one. */
  #lost(session: ManagedSession, why: string): void {
    const entry = this.#entry;
    if (entry.session !== session || session.ended) return;
    session.expire(why);
    this.#wake(entry);
    this.#events.onEnded(session);
    if (this.#closed) return;
    // A client that gave up on its session deletes it (and its nodes) as soon as the server
    // hears it — now, or after the reconnection — so nobody waits for its lease to run out.
    this.#abandoned.set(session.id, monotonicNow() + 2 * session.ttlMs);
    void this.#abandon(session.id);
    const next = this.#newEntry();
    this.#entry = next;
    void this.#establishInBackground(next);
  }

  /** Keeps trying to create the session's key until it exists, or the driver closes. */
  async #establishInBackground(entry: Entry): Promise<void> {
    while (!entry.established && !entry.session.ended && !this.#closed) {
      try {
        await this.#establish(entry, monotonicNow() + this.#settings.operationTimeout);
      } catch {
        // No server yet (establish already waited for a connection up to its deadline), or refused.
        if (this.#conn.closedSignal.aborted) return;
        await sleep(RETRY_MS, this.#conn.closedSignal).catch(() => undefined);
      }
    }
  }

  /** Ends an abandoned session on the server; forgets it once done, or once it surely lapsed. */
  async #abandon(id: string): Promise<void> {
    const until = this.#abandoned.get(id);
    if (until === undefined || !this.#conn.ready) return;
    if (monotonicNow() > until) {
      this.#abandoned.delete(id);
      return;
    }
    try {
      await this.#end(id, monotonicNow() + this.#settings.operationTimeout);
      this.#abandoned.delete(id);
    } catch {
      // Not heard: the next reconnection tries again.
    }
  }

  /** The lease script that follows a `SET`/`PEXPIRE` of the session key (see scripts.ts). */
  #lease(session: ManagedSession): { script: Script; counter: string; argv: string[] } {
    return { script: SCRIPTS.lease, counter: this.#layout.counter, argv: [this.#layout.base, session.id, String(session.ttlMs)] };
  }

  #end(id: string, deadline: number): Promise<unknown> {
    return this.#conn.run(SCRIPTS.end, this.#layout.counter, this.#layout.base, () => [id], { deadline, repeat: 'always' });
  }

  #wake(entry: Entry): void {
    for (const waiter of [...entry.waiters]) waiter();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

function endedError(session: ManagedSession): CoordError {
  return session.state === 'closed'
    ? new CoordError('CLOSED', `redis: session ${session.id} closed`)
    : new CoordError('SESSION_EXPIRED', `redis: session ${session.id} has expired`);
}
