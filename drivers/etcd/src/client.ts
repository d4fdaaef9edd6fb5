/**
 * The `etcd3` client as the driver uses it: built from a {@link ConnectionConfig}, with its
 * own retries turned off (they would repeat writes whose outcome is unknown, and a circuit
 * breaker would refuse calls for seconds after a restart), and one request runner that gives
 * every call a deadline — `etcd3` waits forever on a silent server otherwise — and retries
 * only what the driver contract allows.
 */
import { CoordError, abortReason, linkSignals, raceDeadline, sleep, type ConnectionConfig, type LinkedSignal, type RepeatPolicy } from '@coord/core';
import { noop } from 'cockatiel';
import { Etcd3, type IOptions, type KVClient } from 'etcd3';
import { classify } from './errors.js';

/** gRPC call options (the deadline), as etcd3's calls take them. */
export type CallOptions = NonNullable<Parameters<KVClient['range']>[1]>;

/**
 * The members of the cluster, used one at a time: every request and stream goes to the
 * current member, in URL order, and moves to the next when the current one fails (refuses
 * connections, times out, or has lost its leader). Staying on one member keeps the watch
 * stream, the keep-alives and the reads in step: etcd tells the watch streams it serves of
 * a change before it answers the request that made it.
 */
export class Endpoints {
  readonly #config: ConnectionConfig;
  readonly #clients: (Etcd3 | undefined)[];
  #active = 0;
  #closed = false;

  constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#clients = config.hosts.map(() => undefined);
  }

  /** The current member, `host:port` (for logs). */
  get member(): string {
    const { host, port } = this.#config.hosts[this.#active] as { host: string; port: number };
    return `${host}:${port}`;
  }

  /** The client of the current member. */
  get current(): Etcd3 {
    return this.#client(this.#active);
  }

  #client(index: number): Etcd3 {
    let client = this.#clients[index];
    if (client === undefined) {
      client = buildClient(this.#config, index);
      // A client made after close (a late retry) is closed at once: it fails its calls.
      if (this.#closed) client.close();
      this.#clients[index] = client;
    }
    return client;
  }

  /**
   * Starts on the leader: writes then skip a forwarding hop, and the watch stream hears of
   * every change as soon as the cluster commits it (a follower applies it a moment later, so
   * a client on a follower would learn of its own lease's revocation after clients on the
   * leader). Every member is asked for its status (through whatever address the URL gives,
   * proxies included); the one that reports itself as leader wins. Best effort: on any
   * failure the members are used in URL order.
   */
  async preferLeader(deadline: Date): Promise<void> {
    if (this.#clients.length < 2) return;
    const statuses = await Promise.all(
      this.#clients.map((_, index) => this.#client(index).maintenance.status({ deadline }).catch(() => undefined)),
    );
    const index = statuses.findIndex((status) => status !== undefined && status.leader !== '0' && status.leader === status.header.member_id);
    if (index >= 0) this.#active = index;
  }

  /** A call on `client` failed in a way another member may not: move on to the next member. */
  failed(client: Etcd3): void {
    if (this.#clients.length > 1 && this.#clients[this.#active] === client) {
      this.#active = (this.#active + 1) % this.#clients.length;
    }
  }

  /** Closes every member's client. */
  close(): void {
    this.#closed = true;
    for (const client of this.#clients) client?.close();
  }
}

/** Builds the `etcd3` client of one member of a parsed URL. The password is revealed here only. */
function buildClient(config: ConnectionConfig, index: number): Etcd3 {
  const scheme = config.tls ? 'https' : 'http';
  const { host, port } = config.hosts[index] as { host: string; port: number };
  const hosts = [`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`];
  const timeout = config.settings.operationTimeout;
  const options: IOptions = {
    hosts,
    // Unary calls without a deadline of their own (etcd3's authentication) get the
    // operation timeout; streams live as long as the driver wants them.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: new Date(Date.now() + timeout) }),
    faultHandling: { global: noop, host: () => noop },
    grpcOptions: {
      // A silent connection (a partition that drops packets) is noticed by gRPC pings and
      // closed, so the next call reconnects. etcd refuses pings more often than every 5 s.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
  };
  if (config.username !== undefined) {
    return new Etcd3({ ...options, auth: { username: config.username, password: config.password?.reveal() ?? '' } });
  }
  return new Etcd3(options);
}


/** Runs requests with a deadline and the contract's retry rules. */
export class Requests {
  readonly #label: string;
  readonly #timeout: number;
  readonly #closed: AbortSignal;
  readonly #endpoints: Endpoints;

  /**
   * @param endpoints the members to send to
   * @param label prefix of every message (`etcd 127.0.0.1:2379`)
   * @param timeout deadline of one call (all its attempts), ms
   * @param closed aborts when the driver closes: pending calls reject with its reason
   */
  constructor(endpoints: Endpoints, label: string, timeout: number, closed: AbortSignal) {
    this.#endpoints = endpoints;
    this.#label = label;
    this.#timeout = timeout;
    this.#closed = closed;
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or the deadline passes.
   * @param what the request, for messages (`get /a/b`)
   * @param attempt one try; gets the current member's client, the gRPC call options (with the deadline) and the attempt
   *   number (0 first), so a create can tell a repeat from the first send
   * @param repeat whether a try whose outcome is unknown may be repeated
   * @param signal the caller's cancellation
   * @param timeout overrides the operation timeout (the first lease uses the connect timeout)
   * @throws CoordError `CLOSED`, `ABORTED`, `TIMEOUT`, `UNAVAILABLE`, `CONNECTION_LOSS` or
   *   the mapped etcd error.
   */
  async run<T>(
    what: string,
    attempt: (client: Etcd3, options: CallOptions, n: number) => Promise<T>,
    repeat: RepeatPolicy,
    signal?: AbortSignal,
    timeout = this.#timeout,
  ): Promise<T> {
    const label = `${this.#label}: ${what}`;
    const until = Date.now() + timeout;
    let last: CoordError | undefined;
    // Whether every member tried so far was unreachable: a later try that merely ran out of
    // time (a loaded machine, a slow TLS handshake) does not prove anything answered.
    let unreachable = false;
    for (let n = 0, pause = 50; ; n += 1, pause = Math.min(pause * 2, 1_000)) {
      this.#check(signal, label);
      const left = until - Date.now();
      if (left <= 0) throw this.#expired(label, timeout, last, unreachable);
      const client = this.#endpoints.current;
      // A request that may be repeated gets a part of the budget per try: a write stuck on a
      // member whose leader just died waits for etcd's own request timeout (~7 s) otherwise,
      // while a retry on the next member succeeds once a new leader is elected.
      const slice = repeat === 'always' ? Math.min(left, Math.max(1_000, Math.floor(timeout / 3))) : left;
      try {
        return await this.#bounded(attempt(client, { deadline: new Date(Date.now() + slice) }, n), slice, label, signal);
      } catch (error) {
        this.#check(signal, label);
        const failure = classify(error, label);
        last = failure.error;
        unreachable = last.code === 'UNAVAILABLE' || (unreachable && last.code === 'TIMEOUT');
        if (failure.transient || failure.error.code === 'TIMEOUT') this.#endpoints.failed(client);
        if (!failure.transient) throw failure.error;
        if (failure.maybeApplied && repeat === 'never-once-sent') {
          throw new CoordError('CONNECTION_LOSS', `${label}: the outcome is unknown (${failure.error.message})`, { cause: error });
        }
      }
      const wait = Math.min(pause, until - Date.now());
      if (wait <= 0) throw this.#expired(label, timeout, last, unreachable);
      using merged = this.#merged(signal);
      await sleep(wait, merged.signal).catch(() => undefined);
    }
  }

  #check(signal: AbortSignal | undefined, label: string): void {
    if (this.#closed.aborted) throw abortReason(this.#closed, label);
    if (signal?.aborted) throw abortReason(signal, label);
  }

  #expired(label: string, timeout: number, last: CoordError | undefined, unreachable: boolean): CoordError {
    // Nothing answered at all: unreachable. Something answered too late, or hung: timeout.
    if (unreachable && last !== undefined) return new CoordError('UNAVAILABLE', `${label}: unreachable for ${timeout} ms (${last.message})`, { cause: last });
    return new CoordError('TIMEOUT', `${label}: no answer within ${timeout} ms`, last === undefined ? {} : { cause: last });
  }

  /**
   * Close and the caller's signal as one, detached when disposed: `AbortSignal.any` would
   * leave a listener on the long-lived close signal for every call (see core's signals.ts).
   */
  #merged(signal: AbortSignal | undefined): LinkedSignal {
    return linkSignals(this.#closed, signal);
  }

  /**
   * The call, bounded by its own timer as well as gRPC's deadline (a call can also wait
   * before gRPC sees it, e.g. for an auth token), by close, and by the caller's signal.
   */
  async #bounded<T>(call: Promise<T>, ms: number, label: string, signal: AbortSignal | undefined): Promise<T> {
    using merged = this.#merged(signal);
    return await raceDeadline(call, {
      ms: ms + 50,
      signal: merged.signal,
      what: label,
      timedOut: () => new CoordError('TIMEOUT', `${label}: no answer within the deadline`, { retryable: true }),
    });
  }

}
