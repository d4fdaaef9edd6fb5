/**
 * The ZooKeeper driver's session keeper: it opens the first session, follows it through its
 * {@link Connection} (one native handle per session: a handle whose session expired cannot
 * be revived), and after an expiry opens the next one in the background with core's reopen
 * loop. Recipes hold a {@link SessionView}: after an expiry the keeper hands out the next
 * session's view at once, so a call made meanwhile binds to the session that is coming.
 * Opening a session includes preparing it: digest credentials, and the namespace root made
 * and read (an anonymous client on a protected namespace fails there, `AUTH_FAILED`).
 * (Shape shared by every driver: see core's session-keeper.ts.)
 */
import {
  CoordError,
  callSignal,
  isCoordError,
  monotonicNow,
  raceAbort,
  retryUntilOpen,
  type ConnectionConfig,
  type ManagedSession,
  type SessionEvents,
} from '@coord/core';
import { Connection } from './connection.js';
import { toCoordError } from './errors.js';
import { Code } from './native.js';
import { childrenOf, expect, withRetries, type Call } from './requests.js';
import { SessionView } from './session-view.js';
import { ensureDir } from './writes.js';

/** Backoff between attempts to open a fresh session after an expiry. */
const REOPEN_BACKOFF = { firstMs: 100, maxMs: 2_000 } as const;

/** Opens, follows and replaces the driver's sessions. */
export class SessionKeeper {
  readonly #config: ConnectionConfig;
  /** The namespace root: made when missing, read to check access, the heartbeat's path. */
  readonly #root: string;
  readonly #events: SessionEvents;
  readonly #stop = new AbortController();
  #conn!: Connection;
  /** What the driver's `session` returns: the current session's view, or the next one's while it opens. */
  #view!: SessionView;
  #reopening: Promise<Connection> | undefined;
  /** Monotonic time the current opening of a fresh session began. */
  #reopenedAt = 0;

  constructor(config: ConnectionConfig, root: string, events: SessionEvents) {
    this.#config = config;
    this.#root = root;
    this.#events = events;
  }

  /** The session as recipes see it. */
  get view(): SessionView {
    return this.#view;
  }

  /** The current granted session. */
  get current(): ManagedSession {
    return this.#conn.session;
  }

  /** Whether the current session is usable right now (connected, and not being replaced). */
  get connected(): boolean {
    return this.#reopening === undefined && this.#conn.connected;
  }

  /** The current session's password, hexadecimal: for test fault hooks that take over a session. */
  password(): string {
    return this.#conn.password();
  }

  /**
   * Opens the first session, within `connectTimeout`.
   * @throws CoordError `UNAVAILABLE` (no server answered), `AUTH_FAILED`.
   */
  async start(): Promise<void> {
    this.#conn = await this.#open();
    this.#view = SessionView.of(this.#conn.session);
  }

  /**
   * The connection of the current session; after an expiry, the fresh one once it is open.
   * Like a dropped connection (`Connection.whenConnected`), an opening that has been failing
   * for `operationTimeout` fails calls at once instead of making each wait out its deadline.
   * @throws CoordError `UNAVAILABLE`, `CLOSED`; the signal's reason.
   */
  async connection(signal: AbortSignal): Promise<Connection> {
    const reopening = this.#reopening;
    if (reopening === undefined) return this.#conn;
    const { connectTimeout, operationTimeout } = this.#config.settings;
    const unavailable = (ms: number, cause?: unknown): CoordError =>
      new CoordError('UNAVAILABLE', `zookeeper ${this.#config.redacted}: no fresh session within ${ms} ms`, cause === undefined ? {} : { cause });
    if (monotonicNow() - this.#reopenedAt >= operationTimeout) throw unavailable(operationTimeout);
    using wait = callSignal({ timeout: connectTimeout }, 'waiting for a fresh session', signal);
    try {
      return await raceAbort(reopening, wait.signal, `zookeeper ${this.#config.redacted}: opening a fresh session`);
    } catch (error) {
      if (signal.aborted) throw error;
      if (this.#stop.signal.aborted) throw new CoordError('CLOSED', `zookeeper ${this.#config.redacted}: driver closed while a fresh session was opening`);
      throw unavailable(connectTimeout, error);
    }
  }

  /**
   * Ends the current session (its handle closes; the server ends the session if it hears us)
   * and gives up any opening in progress. Resolves once the native handle is closed.
   */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const reason = new CoordError('CLOSED', `zookeeper ${this.#config.redacted}: driver closed`);
    this.#stop.abort(reason);
    const conn = this.#conn;
    conn.session.close();
    this.#events.onEnded(conn.session);
    const released = conn.close();
    this.#view.close(reason);
    await this.#reopening?.catch(() => undefined);
    await released;
  }

  /** Opens a connection, authenticates, and makes sure the namespace exists and is readable. */
  async #open(): Promise<Connection> {
    const conn = await Connection.open(this.#config, this.#root, {
      onChange: (change) => {
        // Only the current session's changes; listeners see the view recipes hold.
        if (change.session === this.#view?.managed) this.#events.onChange({ ...change, session: this.#view });
      },
      onLost: (lost, why) => this.#lost(lost, why),
    }, this.#stop.signal);
    try {
      await this.#prepare(conn);
      return conn;
    } catch (error) {
      void conn.close();
      throw error;
    }
  }

  async #prepare(conn: Connection): Promise<void> {
    const what = 'opening the session';
    const label = `zookeeper ${this.#config.redacted}: ${what}`;
    const timeout = this.#config.settings.connectTimeout;
    using deadline = callSignal({ timeout }, label, this.#stop.signal);
    const call: Call = { conn, signal: deadline.signal, timeout, label, fail: (rc) => toCoordError(rc, { url: this.#config.redacted, what }) };
    const { username, password } = this.#config;
    if (username !== undefined) {
      // Digest credentials are never refused at login: ZooKeeper only compares them with
      // the ACLs of the nodes a client touches. So the check below reads the namespace root.
      const credentials = `${username}:${password?.reveal() ?? ''}`;
      await expect<[]>(call, [Code.OK], (zk, done) => zk.add_auth('digest', credentials, done));
    }
    try {
      if (this.#root !== '/') await withRetries(call, () => ensureDir(call, this.#root, this.#root));
      await withRetries(call, () => childrenOf(call, this.#root));
    } catch (error) {
      if (!isCoordError(error, 'AUTH_FAILED')) throw error;
      const who = username === undefined ? 'an anonymous client' : `user ${username}`;
      throw new CoordError('AUTH_FAILED', `zookeeper ${this.#config.redacted}: ${who} may not use the namespace ${this.#root} (wrong credentials?)`);
    }
  }

  /** The one place a session ends: expire it, tell the driver, close its handle, open the next one. */
  #lost(conn: Connection, why: string): void {
    if (conn !== this.#conn || conn.session.ended) {
      void conn.close();
      return;
    }
    conn.session.expire(why);
    this.#events.onEnded(conn.session);
    void conn.close();
    if (!this.#stop.signal.aborted) this.#reopen();
  }

  /** Opens a fresh session after an expiry, in the background, until it opens or the driver closes. */
  #reopen(): void {
    const view = new SessionView(this.#config.settings.sessionTimeout);
    const reopening = retryUntilOpen(() => this.#open(), this.#stop.signal, REOPEN_BACKOFF, (late) => void late.close()).then((conn) => {
      this.#conn = conn;
      view.bind(conn.session);
      this.#reopening = undefined;
      this.#events.onChange({ session: view, previous: 'expired', state: 'connected' });
      return conn;
    });
    reopening.catch(() => undefined);
    this.#reopening = reopening;
    this.#reopenedAt = monotonicNow();
    this.#view = view;
  }
}
