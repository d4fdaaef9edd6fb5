/**
 * One ioredis connection with a deadline on everything. ioredis by default reconnects forever,
 * queues commands while offline and resends unanswered ones after a reconnect; each of those
 * would hide from the driver whether a write was applied. So here: no offline queue (a command
 * with no connection fails at once: known unsent), no automatic resend (a command in flight
 * when the connection drops fails: outcome unknown), reconnection in the background with a
 * capped backoff, and every request bounded by its caller's deadline. What to do with an
 * unknown outcome is the caller's choice ({@link Repeat}), per the driver contract.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { CoordError, abortReason, monotonicNow, raceDeadline, type ConnectionConfig, type RepeatPolicy } from '@coord/core';
import { classify } from './errors.js';
import type { Script } from './scripts.js';

/** When a request whose outcome is unknown may be sent again. */
export type Repeat =
  /**
   * Core's {@link RepeatPolicy} (docs/design.md D7): `always` for reads and idempotent writes
   * (renewals, token-guarded sets and deletes); `never-once-sent` and the caller gets
   * `CONNECTION_LOSS` (an unconditional set or delete).
   */
  | RepeatPolicy
  /** Again, with the script's "adopt" flag set (creates: find the node the lost request made). */
  | 'adopt';

/** Options of one request. */
export interface RequestOptions {
  /** Monotonic time by which the request must have succeeded. */
  readonly deadline: number;
  /** What a repeat after an unknown outcome is allowed to do. */
  readonly repeat: Repeat;
  /** Cancels the request (`ABORTED`, or the signal's `CoordError` reason). */
  readonly signal?: AbortSignal;
  /**
   * Before each attempt: a channel to `SUBSCRIBE` in the same write, just ahead of the script
   * (the server runs them in that order), or undefined if the connection is subscribed already.
   */
  readonly subscribe?: () => string | undefined;
}

const RECONNECT_MAX_MS = 1_000;
const QUIT_MS = 500;
const RETRY_PAUSE_MS = 50;

/** ioredis options for a driver's connection (command or subscriber). */
export function clientOptions(config: ConnectionConfig, name: string, protocol: 2 | 3 = 3): Omit<RedisOptions, 'replyMapping'> {
  const host = config.hosts[0];
  if (host === undefined) throw new CoordError('INVALID_URL', `redis: ${config.redacted} names no host`);
  const password = config.password?.reveal();
  return {
    host: host.host,
    port: host.port,
    ...(config.username === undefined || config.username === '' ? {} : { username: config.username }),
    ...(password === undefined ? {} : { password }),
    db: config.options.db ?? 0,
    ...(config.tls ? { tls: { servername: host.host } } : {}),
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(1, Math.min(config.settings.connectTimeout, config.settings.operationTimeout)),
    retryStrategy: (attempt: number) => Math.min(RECONNECT_MAX_MS, 25 * 2 ** Math.min(attempt, 10)),
    reconnectOnError: null,
    // RESP3 lets the command connection hold subscriptions and still run scripts, so a watch's
    // SUBSCRIBE and its read go in one write and run in that order (see watches.ts). The
    // tracking connection is RESP2: there, invalidations arrive as pub/sub messages.
    protocol,
    // Subscriptions are restored by the driver, which must also re-read what they watch.
    autoResubscribe: false,
    keepAlive: 1_000,
    noDelay: true,
  };
}

/** A connection to Redis, with deadlines, used by one driver. */
export class Connection {
  /** The ioredis client (for subscriber use by the watch hub). */
  readonly client: Redis;
  /** Prefix of every message: backend and redacted endpoint. */
  readonly label: string;
  readonly #secrets: readonly string[];
  readonly #closed = new AbortController();
  /** Monotonic time of the last reply on this connection (see {@link #bounded}). */
  #lastReplyAt = 0;
  /** Why the server refused the URL's database (see {@link #checkSelect}); final. */
  #refusal: CoordError | undefined;

  constructor(config: ConnectionConfig, name: string, protocol: 2 | 3 = 3) {
    this.client = new Redis(clientOptions(config, name, protocol));
    this.label = `redis ${config.redacted}`;
    const password = config.password?.reveal();
    this.#secrets = password === undefined ? [] : [password];
    // Without a listener ioredis would print every connection error; the requests report
    // them. This one also catches a refused SELECT, which ioredis reports only here.
    this.client.on('error', (error: unknown) => this.#checkSelect(error, config.options.db ?? 0));
    // Every request waiting for a reconnection listens for 'ready' until it settles: hundreds
    // of waiters are normal, not a leak.
    this.client.setMaxListeners(0);
  }

  /** Aborts when {@link close} is called. */
  get closedSignal(): AbortSignal {
    return this.#closed.signal;
  }

  /** Whether the connection is usable right now. */
  get ready(): boolean {
    // 'ready' with an ended stream happens between our end() and a FIN that may never come
    // (a silent network): nothing can be sent then.
    return this.#refusal === undefined && this.client.status === 'ready' && this.client.stream.writable;
  }

  /**
   * Opens the connection; resolves once it is ready (authenticated, database selected).
   * @throws CoordError `AUTH_FAILED` at once if the server refuses the credentials;
   *   `UNAVAILABLE` (unreachable) or `TIMEOUT` (silent) when `deadline` passes first.
   */
  async open(deadline: number): Promise<void> {
    this.client.connect().catch(() => {
      // Failures surface through 'error' events and whenReady's deadline.
    });
    await this.whenReady(deadline);
  }

  /**
   * Waits until the connection is ready, up to `deadline`.
   * @throws CoordError `CLOSED`; `AUTH_FAILED`; `INVALID_ARGUMENT` if the server has no
   *   such database; `UNAVAILABLE`/`TIMEOUT` at the deadline.
   */
  whenReady(deadline: number, signal?: AbortSignal): Promise<void> {
    this.#throwIfClosed();
    if (this.#refusal !== undefined) return Promise.reject(this.#refusal);
    if (this.ready) return Promise.resolve();
    if (this.client.status === 'ready') this.recycle();
    return new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      const finish = (error?: CoordError): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('error', onError);
        this.#closed.signal.removeEventListener('abort', onClosed);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = (): void => finish();
      const onError = (error: unknown): void => {
        lastError = error;
        if (this.#refusal !== undefined) return finish(this.#refusal);
        const classified = classify(error, `${this.label}: connect`, this.#secrets, false);
        if (classified.error.code === 'AUTH_FAILED') finish(classified.error);
      };
      const onClosed = (): void => finish(this.#closedError());
      const onAbort = (): void => finish(abortReason(signal as AbortSignal, `${this.label}: request`));
      const onTimeout = (): void => {
        if (lastError === undefined) {
          finish(new CoordError('TIMEOUT', `${this.label}: no connection to the server within the deadline`));
          return;
        }
        const { error } = classify(lastError, `${this.label}: connect`, this.#secrets, false);
        const code = error.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE';
        finish(new CoordError(code, `${this.label}: cannot connect (${error.message})`, { cause: error }));
      };
      const timer = setTimeout(onTimeout, Math.max(0, deadline - monotonicNow()));
      this.client.on('ready', onReady);
      this.client.on('error', onError);
      this.#closed.signal.addEventListener('abort', onClosed, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  /**
   * Runs a script (`EVALSHA`; on `NOSCRIPT`, once more with its source, which also loads it)
   * until it succeeds, is refused, or `options.deadline` passes. `args(adopt)` builds `ARGV[2..]`;
   * `adopt` is true on a repeat after an unknown outcome when `options.repeat` is `'adopt'`.
   * @throws CoordError the script's refusal, `CLOSED`, `ABORTED`, `TIMEOUT`, `UNAVAILABLE`,
   *   `CONNECTION_LOSS` (outcome unknown and `repeat: 'never-once-sent'`), `AUTH_FAILED`.
   */
  async run(script: Script, counter: string, base: string, args: (adopt: boolean) => (string | Buffer)[], options: RequestOptions): Promise<unknown> {
    const what = `${this.label}: ${script.name}`;
    let adopt = false;
    for (;;) {
      await this.whenReady(options.deadline, options.signal);
      const argv = [base, ...args(adopt)];
      try {
        return await this.#bounded(this.#eval(script, counter, argv, options.subscribe?.()), options, what);
      } catch (error) {
        const { error: mapped, outcome } = classify(error, what, this.#secrets);
        if (outcome === 'refused') throw mapped;
        this.#throwIfClosed();
        if (outcome === 'unknown') {
          if (options.repeat === 'never-once-sent') {
            throw new CoordError('CONNECTION_LOSS', `${what}: the outcome is unknown (${mapped.message})`, { cause: mapped });
          }
          if (options.repeat === 'adopt') adopt = true;
        }
        if (monotonicNow() + RETRY_PAUSE_MS >= options.deadline) throw mapped;
        await this.#pause(options.signal);
      }
    }
  }

  /**
   * Sends one plain command within `deadline` (no repeat after an unknown outcome).
   * @throws CoordError as {@link run}.
   */
  async command(name: string, args: (string | number)[], deadline: number): Promise<unknown> {
    const what = `${this.label}: ${name.toLowerCase()}`;
    await this.whenReady(deadline);
    try {
      return await this.#bounded(this.client.call(name, ...args), { deadline, repeat: 'never-once-sent' }, what);
    } catch (error) {
      throw classify(error, what, this.#secrets).error;
    }
  }

  /**
   * Sends plain commands, then optionally a script, in one write (one round trip) within
   * `deadline`, no repeat. A script the server did not know (`NOSCRIPT`) is run again on its
   * own (with its source) after the others.
   * @returns each command's reply, the script's last
   * @throws CoordError as {@link run}; the first command error, mapped.
   */
  async pipeline(
    commands: readonly (readonly [string, ...(string | number)[]])[],
    deadline: number,
    then?: { readonly script: Script; readonly counter: string; readonly argv: readonly string[] },
  ): Promise<unknown[]> {
    const what = `${this.label}: ${[...commands.map(([name]) => name.toLowerCase()), ...(then === undefined ? [] : [then.script.name])].join('+')}`;
    await this.whenReady(deadline);
    let replies: [Error | null, unknown][] | null;
    try {
      const batch = this.client.pipeline();
      for (const [name, ...args] of commands) batch.call(name, ...args);
      if (then !== undefined) batch.call('EVALSHA', then.script.sha, 1, then.counter, ...then.argv);
      replies = await this.#bounded(batch.exec(), { deadline, repeat: 'never-once-sent' }, what);
    } catch (error) {
      throw classify(error, what, this.#secrets).error;
    }
    if (replies === null) throw new CoordError('CONNECTION_LOSS', `${what}: the pipeline was discarded`);
    const last = replies.length - 1;
    return Promise.all(
      replies.map(async ([error, reply], index) => {
        if (error === null) return reply;
        if (then !== undefined && index === last && error.message.startsWith('NOSCRIPT')) {
          const [base = '', ...rest] = then.argv;
          return this.run(then.script, then.counter, base, () => rest, { deadline, repeat: 'always' });
        }
        throw classify(error, what, this.#secrets).error;
      }),
    );
  }

  /**
   * Loads `scripts` into the server's script cache on every (re)connection, written ahead
   * of any request waiting for the connection. Without it the first use of a script after
   * connect or a restart is `NOSCRIPT` for every request sent before the first reply: a
   * burst of a thousand lock waiters sent a thousand `EVALSHA`s, then a thousand `EVAL`s
   * of the source, each much slower than an `EVALSHA` (the `EVAL` fallback in
   * {@link #eval} stays for a `SCRIPT FLUSH` while connected).
   */
  preload(scripts: readonly Script[]): void {
    this.client.on('ready', () => {
      for (const script of scripts) this.client.call('SCRIPT', 'LOAD', script.source).catch(() => undefined);
    });
  }

  /** Closes the connection: pending requests reject, no reconnection. Resolves once closed. */
  async close(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    const client = this.client;
    if (client.status === 'end') return;
    if (client.status === 'reconnecting' || client.status === 'wait') {
      // No socket to wait for: this cancels the pending reconnection (and ends a never-opened client).
      client.disconnect(false);
      return;
    }
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    // Cutting destroys the socket: a graceful end could wait forever for a FIN over a silent network.
    const cut = (): void => {
      client.disconnect(false);
      client.stream.destroy();
    };
    if (this.ready) {
      // QUIT lets the server finish what it read first; bounded, then the socket is cut.
      const timer = setTimeout(cut, QUIT_MS);
      await client.quit().catch(() => undefined);
      clearTimeout(timer);
      if ((client.status as string) !== 'end') cut();
    } else {
      cut();
    }
    await ended;
  }

  /** Drops a connection that went silent or half-closed; ioredis then reconnects. */
  recycle(): void {
    if (!this.#closed.signal.aborted && !this.client.stream.destroyed) this.client.stream.destroy();
  }

  async #eval(script: Script, counter: string, argv: (string | Buffer)[], channel: string | undefined): Promise<unknown> {
    try {
      if (channel === undefined) return await this.client.callBuffer('EVALSHA', script.sha, 1, counter, ...argv);
      const replies = await this.client.pipeline().subscribe(channel).callBuffer('EVALSHA', script.sha, 1, counter, ...argv).exec();
      const [subscribed, evaluated] = replies ?? [];
      if (subscribed === undefined || evaluated === undefined) throw new Error('Connection is closed.');
      if (subscribed[0] !== null) throw subscribed[0];
      if (evaluated[0] !== null) throw evaluated[0];
      return evaluated[1];
    } catch (error) {
      // NOSCRIPT: the server does not know the script (first use, restart, SCRIPT FLUSH). The
      // script did not run, so sending its source is safe; EVAL also caches it for EVALSHA.
      // (A SUBSCRIBE sent with it did run: the EVAL still follows it.)
      if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
      return this.client.callBuffer('EVAL', script.source, 1, counter, ...argv);
    }
  }

  /**
   * Races a sent request against its deadline and signal; a connection found silent is
   * recycled.
   */
  #bounded<T>(request: Promise<T>, options: RequestOptions, what: string): Promise<T> {
    const sentAt = monotonicNow();
    request.then(
      () => this.#heard(),
      (error: unknown) => {
        if (classify(error, what).outcome === 'refused') this.#heard();
      },
    );
    return raceDeadline(request, {
      ms: options.deadline - sentAt,
      signal: options.signal,
      what,
      timedOut: () => {
        // Nothing heard since the request was written: the server (or the path to it) is
        // silent. Replies keep their order on a connection, so waiting longer would stall
        // every later request behind this one: drop the connection and let ioredis
        // reconnect. But a connection still answering is only busy — a long queue of
        // requests ahead of this one — and dropping it would fail every request in flight
        // with an unknown outcome (CONNECTION_LOSS), each then cleaned up with more requests.
        if (this.#lastReplyAt <= sentAt) this.recycle();
        return new CoordError('TIMEOUT', `${what}: no reply within the deadline (outcome unknown)`);
      },
    });
  }

  /** A reply arrived: the connection is alive. */
  #heard(): void {
    this.#lastReplyAt = monotonicNow();
  }


  #pause(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        this.#closed.signal.removeEventListener('abort', stop);
        signal?.removeEventListener('abort', stop);
        if (this.#closed.signal.aborted) reject(this.#closedError());
        else if (signal?.aborted) reject(abortReason(signal, `${this.label}: request`));
        else resolve();
      };
      const timer = setTimeout(stop, RETRY_PAUSE_MS);
      this.#closed.signal.addEventListener('abort', stop, { once: true });
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  /**
   * ioredis selects the URL's database on every (re)connection, but when the server refuses
   * the `SELECT` (an index at or beyond its `databases` setting, or an ACL without the
   * command) it only emits the error and goes ready anyway, on database 0 — where every
   * write would silently land. So a refused `SELECT` makes the connection unusable for good:
   * every request fails with this error instead (see {@link whenReady}).
   */
  #checkSelect(error: unknown, db: number): void {
    if ((error as { command?: { name?: unknown } } | undefined)?.command?.name !== 'select') return;
    const refused = error instanceof Error ? error.message : String(error);
    const code = refused.startsWith('NOPERM') ? 'AUTH_FAILED' : 'INVALID_ARGUMENT';
    const hint = code === 'AUTH_FAILED' ? 'the user may not SELECT it' : "the index must be below the server's `databases` setting";
    this.#refusal = new CoordError(code, `${this.label}: the server refused database ${db} (${refused}); ${hint}`);
  }

  #throwIfClosed(): void {
    if (this.#closed.signal.aborted) throw this.#closedError();
  }

  #closedError(): CoordError {
    return new CoordError('CLOSED', `${this.label}: driver is closed`);
  }
}
