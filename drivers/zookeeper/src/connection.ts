/**
 * One ZooKeeper session: a native client handle, the {@link ManagedSession} that mirrors it,
 * and its renewals. A handle whose session expired cannot be revived (the C client closes
 * it), so the driver opens a new {@link Connection} for the next session.
 *
 * Renewals. The C client pings by itself, but its pings are invisible to us, and the local
 * deadline must count from the *send* time of something the server acknowledged. So every
 * reply to a request renews the session from that request's send time, and when no request
 * was acknowledged for a third of the TTL a heartbeat (`exists` on the namespace root) is
 * sent — the same cadence as the C client's own pings, which it then skips. A busy session
 * sends no heartbeats at all.
 *
 * States. `connecting` from the C client suspends the session, `connect` resumes it (and
 * sends a heartbeat at once, so the deadline counts from a known send time). The session
 * expires on the server's word (the handle closes with `EXPIRED`) or when the local deadline
 * passes first — whichever comes first; the driver then closes this handle.
 */
import { setMaxListeners } from 'node:events';
import {
  CoordError,
  ManagedSession,
  callSignal,
  monotonicNow,
  raceAbort,
  type ConnectionConfig,
  type SessionStateChange,
} from '@coord/core';
import { Code, State, newNativeClient, type Completion, type NativeClient, type NativeConfig } from './native.js';

/** What a connection reports to its driver. */
export interface ConnectionHooks {
  /** Every state transition of the session. */
  onChange(change: SessionStateChange): void;
  /** The session is over (the server said so, or the local deadline passed). */
  onLost(connection: Connection, why: string): void;
}

/** A request's outcome: the return code and the completion's results (`sent` false: refused locally). */
export interface Reply<A extends unknown[]> {
  readonly rc: number;
  readonly result: A | undefined;
  readonly sent: boolean;
}

/** Codes after which a reply proves nothing about the session being alive. */
const NO_CONTACT: ReadonlySet<number> = new Set<number>([
  Code.CONNECTION_LOSS,
  Code.OPERATION_TIMEOUT,
  Code.CLOSING,
  Code.SESSION_EXPIRED,
  Code.INVALID_STATE,
]);

/** How often each host is listed for the C client (see {@link connectString}). */
const HOST_COPIES = 2;

/** Shortest wait for one handle to connect before it is replaced. */
const MIN_ATTEMPT_MS = 1_000;

/** Consecutive empty polls after which the addon would declare the session dead (its default is 10). */
const RESPONSE_COUNTER_LIMIT = 1_000_000;

/** One native handle and the session it carries. */
export class Connection {
  readonly zk: NativeClient;
  readonly session: ManagedSession;
  readonly #hooks: ConnectionHooks;
  readonly #heartbeatPath: string;
  readonly #waiters = new Set<() => void>();
  /** How long a call waits for a dropped connection to come back (`operationTimeout`). */
  readonly #patienceMs: number;
  /** Monotonic time the connection dropped; undefined while connected. */
  #downSince: number | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastAck: number;
  #closed = false;
  #released: Promise<void> = Promise.resolve();

  private constructor(zk: NativeClient, openedAt: number, config: ConnectionConfig, heartbeatPath: string, hooks: ConnectionHooks) {
    this.zk = zk;
    this.#hooks = hooks;
    this.#heartbeatPath = heartbeatPath;
    this.#lastAck = openedAt;
    this.#patienceMs = config.settings.operationTimeout;
    const ttl = zk.timeout > 0 ? zk.timeout : config.settings.sessionTimeout;
    this.session = new ManagedSession(zk.client_id, ttl, openedAt, hooks.onChange, () =>
      hooks.onLost(this, 'passed its local deadline without a renewal'),
    );
    // Every call in flight listens to the session's signal (and removes its listener when it
    // ends): many concurrent calls are normal, not a leak.
    setMaxListeners(0, this.session.signal);
    this.#bind(zk);
    const every = Math.max(1, Math.floor(ttl / 3));
    this.#heartbeat = setInterval(() => this.#beat(false), every);
  }

  /**
   * Opens a handle to `config.hosts` and waits for its session, within `connectTimeout`.
   * A handle that has not connected after a third of that gets a fresh one beside it (hosts
   * in a new random order): the C client waits two thirds of the session timeout on a server
   * that accepts the connection but does not answer, longer than the whole connect budget.
   * @param heartbeatPath the server path the heartbeat reads (the namespace root)
   * @throws CoordError `UNAVAILABLE` when no server answers in time; `AUTH_FAILED`; the
   *   signal's reason.
   */
  static async open(config: ConnectionConfig, heartbeatPath: string, hooks: ConnectionHooks, signal: AbortSignal): Promise<Connection> {
    const { connectTimeout } = config.settings;
    const until = monotonicNow() + connectTimeout;
    const attemptMs = Math.max(MIN_ATTEMPT_MS, connectTimeout / 3);
    // A stuck handle stays open until the next one is done, so the next one's socket does
    // not reuse the descriptor the addon may still be polling for it.
    const stuck: NativeClient[] = [];
    try {
      for (;;) {
        signal.throwIfAborted();
        const left = until - monotonicNow();
        const openedAt = monotonicNow();
        const { zk, connected } = await attempt(config, Math.min(left, attemptMs), signal);
        if (connected) return new Connection(zk, openedAt, config, heartbeatPath, hooks);
        stuck.push(zk);
        if (until - monotonicNow() <= 0) {
          throw new CoordError('UNAVAILABLE', `zookeeper ${config.redacted}: no server answered within ${connectTimeout} ms`);
        }
      }
    } finally {
      for (const zk of stuck) zk.close();
    }
  }

  /** Whether the handle is connected right now. */
  get connected(): boolean {
    return !this.#closed && this.zk.state === State.CONNECTED;
  }

  /** The session password in hexadecimal (for test fault hooks only). */
  password(): string {
    return this.zk.client_password;
  }

  /**
   * Resolves once the handle is connected, so a request is not queued behind a reconnect
   * (where a failed connection attempt would fail it as a lost reply it never was).
   * A dropped connection is waited for only until it has been down for `operationTimeout`:
   * after that the ensemble counts as unreachable and calls fail at once until it is back,
   * instead of each one (and each clean-up a recipe runs after it) waiting out its deadline.
   * @param label the call, for messages (`zookeeper <redacted url>: create /a`)
   * @throws CoordError `UNAVAILABLE` once the connection has been down that long; the
   *   signal's reason.
   */
  async whenConnected(signal: AbortSignal, label: string): Promise<void> {
    if (this.connected) return;
    const left = (this.#downSince ?? monotonicNow()) + this.#patienceMs - monotonicNow();
    const what = `${label}: no connection to the ensemble for ${this.#patienceMs} ms`;
    if (left <= 0) throw new CoordError('UNAVAILABLE', what);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.#waiters.add(wake);
    using patience = callSignal({ timeout: left }, what, signal);
    try {
      await raceAbort(woken, patience.signal, `${label}: waiting for a connection`);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new CoordError('UNAVAILABLE', what, { cause: error });
    } finally {
      this.#waiters.delete(wake);
    }
  }

  /**
   * Sends one request. Resolves with the server's return code (a reply renews the session
   * from the send time), or `sent: false` if the C client refused it locally.
   * @throws the signal's reason (deadline, caller abort, session end) if it aborts first.
   */
  send<A extends unknown[]>(signal: AbortSignal, start: (zk: NativeClient, done: Completion<A>) => number): Promise<Reply<A>> {
    const sentAt = monotonicNow();
    const reply = new Promise<Reply<A>>((resolve) => {
      const rc = start(this.zk, (code, _message, ...result) => {
        if (!NO_CONTACT.has(code)) this.#acknowledged(sentAt);
        resolve({ rc: code, result, sent: true });
      });
      if (rc !== Code.OK) resolve({ rc, result: undefined, sent: false });
    });
    return raceAbort(reply, signal, 'zookeeper request');
  }

  /**
   * Stops renewals and closes the handle (its session ends on the server if it can hear us);
   * a session not yet expired or closed by the driver is closed. Idempotent. Resolves once
   * the native handle is closed (see {@link release}).
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.session.close();
      if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
      this.#waiters.clear();
      this.zk.removeAllListeners();
      this.#released = release(this.zk, this.#heartbeatPath, this.session.ttlMs / 3);
    }
    return this.#released;
  }

  /** Follows the handle's connection states. */
  #bind(zk: NativeClient): void {
    zk.on('connecting', () => {
      this.#downSince ??= monotonicNow();
      this.session.suspend();
    });
    zk.on('connect', () => {
      this.#downSince = undefined;
      this.session.resume();
      this.#beat(true);
      for (const wake of [...this.#waiters]) wake();
    });
    zk.on('close', (_client, code) => {
      if (this.#closed) return;
      this.#hooks.onLost(this, code === State.AUTH_FAILED ? 'ended: authentication failed' : 'expired on the server');
    });
  }

  #acknowledged(sentAt: number): void {
    if (sentAt > this.#lastAck) this.#lastAck = sentAt;
    this.session.renewed(sentAt);
  }

  #beat(force: boolean): void {
    if (!this.connected || this.session.ended) return;
    const now = monotonicNow();
    if (!force && now - this.#lastAck < this.session.ttlMs / 3) return;
    this.zk.a_exists(this.#heartbeatPath, false, (rc) => {
      if (!NO_CONTACT.has(rc)) this.#acknowledged(now);
    });
  }
}

/**
 * Closes a native handle, without freezing the event loop and never from inside a native
 * callback; resolves once the handle is closed.
 * - Inside a callback of the C client (a request's completion, and every promise continuation
 *   it runs), `zookeeper_close` only marks the handle: the close request is sent after the
 *   callback returns — after our caller has gone on, e.g. to exit the process, so the session
 *   would linger on the server until it expires. So the close runs from `setImmediate`.
 * - On a connected handle the C client sends the close request and then *blocks the thread*
 *   until the server answers or 1.5 s pass — the whole 1.5 s when the server has gone silent,
 *   which is exactly when a session is given up on. So a connected handle first sends a probe
 *   and is closed once the server answered it (the close then takes one quick round trip) or
 *   the connection dropped (a handle that is not connected closes without waiting); only a
 *   server silent for `patienceMs` with the connection still up gets the blocking close.
 */
function release(zk: NativeClient, probePath: string, patienceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      zk.removeAllListeners();
      setImmediate(() => {
        zk.close();
        resolve();
      });
    };
    if (zk.state !== State.CONNECTED) return finish();
    timer = setTimeout(finish, patienceMs);
    zk.on('connecting', finish);
    zk.on('close', finish);
    if (zk.a_exists(probePath, false, () => finish()) !== Code.OK) finish();
  });
}

/**
 * One handle's attempt to open a session within `ms`: resolves with the handle and whether
 * it connected (the caller closes one that did not).
 * @throws CoordError `AUTH_FAILED`, `UNAVAILABLE`; the signal's reason.
 */
function attempt(config: ConnectionConfig, ms: number, signal: AbortSignal): Promise<{ zk: NativeClient; connected: boolean }> {
  const zk = newNativeClient();
  return new Promise<{ zk: NativeClient; connected: boolean }>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      zk.removeAllListeners();
    };
    const fail = (error: unknown): void => {
      finish();
      zk.close();
      reject(error);
    };
    const timer = setTimeout(() => {
      finish();
      resolve({ zk, connected: false });
    }, Math.max(0, ms));
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    zk.on('connect', () => {
      finish();
      resolve({ zk, connected: true });
    });
    zk.on('close', (_client, code) => {
      const auth = code === State.AUTH_FAILED;
      fail(new CoordError(auth ? 'AUTH_FAILED' : 'UNAVAILABLE', `zookeeper ${config.redacted}: ${auth ? 'authentication failed' : 'the session ended while connecting'}`));
    });
    try {
      zk.init(nativeConfig(config));
    } catch (error) {
      fail(new CoordError('UNAVAILABLE', `zookeeper ${config.redacted}: cannot start the client`, { cause: error }));
    }
  });
}

/** What a new native handle is given (hosts in a random order). */
function nativeConfig(config: ConnectionConfig): NativeConfig {
  return {
    connect: connectString(config),
    timeout: config.settings.sessionTimeout,
    debug_level: Number(process.env['COORD_ZOOKEEPER_LOG_LEVEL'] ?? 0),
    host_order_deterministic: false,
    response_counter_limit: RESPONSE_COUNTER_LIMIT,
  };
}

/**
 * The C client's host list: every host, {@link HOST_COPIES} times over. Once the C client has
 * tried every address it pauses (a sixtieth of the session timeout) before the next round;
 * with each host listed twice, a connection that drops is retried on the same server at
 * once, and only one failure in that many ends a round.
 */
function connectString(config: ConnectionConfig): string {
  const hosts = config.hosts.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  return Array.from({ length: HOST_COPIES }, () => hosts).flat().join(',');
}
