/**
 * A TCP proxy that sits between a client and a server on loopback and injects network faults:
 * silence, lost replies, latency and resets. Point the client at `proxy.address` instead of
 * the server; everything the proxy does is at the byte level, so it works for any protocol
 * (ZooKeeper's jute, etcd's gRPC/HTTP2, Redis's RESP).
 *
 * A byte stream never resumes after a hole: whenever a fault discarded bytes of a connection
 * in one direction, and a later fault (or `heal()`) would forward that direction again, the
 * connection is reset instead, as a real TCP connection that lost data would have died. So a
 * client after `heal()` sees either its connection carry on intact (nothing was lost on it) or
 * ECONNRESET, and then reconnects — never a reply to the wrong request.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Direction, Fault } from './fault.js';
import { Link, type Target } from './link.js';

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The server to forward to. */
  readonly target: Target;
  /** Address to listen on (default `127.0.0.1`); the port is always a free one the OS picks. */
  readonly listenHost?: string;
}

/** Counters since the proxy started (a snapshot). */
export interface FaultProxyStats {
  /** Client connections accepted. */
  readonly accepted: number;
  /** Bytes the proxy read from clients (forwarded, held or dropped alike). */
  readonly bytesFromClients: number;
  /** Bytes the proxy read from the server (forwarded, held or dropped alike). */
  readonly bytesFromServer: number;
  /** Chunks (and ends/resets) discarded by `blackhole()` or `dropReplies()`, client → server. */
  readonly droppedUp: number;
  /** Chunks (and ends/resets) discarded by `blackhole()` or `dropReplies()`, server → client. */
  readonly droppedDown: number;
  /** Replies lost by `loseNextReply()` (each one also reset its connection). */
  readonly lostReplies: number;
  /** Connections the proxy reset: `reset()`, lost replies, and connections that lost bytes when forwarding resumed. `close()` is not counted. */
  readonly resets: number;
}

const NONE: Fault = { kind: 'none' };

/**
 * A running fault proxy; create it with {@link startFaultProxy}. Each fault method replaces the
 * fault in force (they do not stack), applies at once to live connections and to new ones,
 * and is a no-op after `close()`.
 */
export class FaultProxy implements AsyncDisposable {
  /** Host the proxy listens on. */
  readonly host: string;
  /** Port the proxy listens on. */
  readonly port: number;
  /** The server it forwards to. */
  readonly target: Target;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  #fault: Fault = NONE;
  #closing: Promise<void> | undefined;
  #stats = { accepted: 0, bytesFromClients: 0, bytesFromServer: 0, droppedUp: 0, droppedDown: 0, lostReplies: 0, resets: 0 };

  /** @internal Use {@link startFaultProxy}; `server` must be listening. */
  constructor(server: Server, target: Target) {
    const address = server.address() as AddressInfo;
    this.host = address.address;
    this.port = address.port;
    this.target = { host: target.host, port: target.port };
    this.#server = server;
    server.on('connection', (socket: Socket) => this.#accept(socket));
    // A failed accept (e.g. EMFILE) only loses that one client, as on a real server; without a
    // listener it would crash the test process.
    server.on('error', () => {});
  }

  /** `host:port` to give the client instead of the server's (IPv6 hosts in brackets). */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Live proxied connections (a connection counts until both of its sockets have closed). */
  get connections(): number {
    return this.#links.size;
  }

  /** The fault in force. */
  get fault(): Fault {
    return this.#fault;
  }

  /** Counters since start. */
  get stats(): FaultProxyStats {
    return { ...this.#stats };
  }

  /**
   * Silence in both directions: connections stay open (new ones are still accepted) but every
   * byte, end and reset is discarded, so the client sees neither data nor an error and only
   * its own deadline ends the wait. Discarded bytes are **not** replayed by `heal()`; a
   * connection that lost any is reset when forwarding resumes (see the file comment), one
   * that stayed idle carries on.
   */
  blackhole(): void {
    this.#setFault({ kind: 'blackhole' });
  }

  /**
   * Silence in both directions, without loss: the proxy stops reading, so bytes wait in the
   * kernel's buffers (writers block once those are full) and are delivered in order by
   * `heal()` — a short partition that TCP's retransmission rides out. Use `blackhole()` for a
   * partition long enough for the connection to die.
   */
  partition(): void {
    this.#setFault({ kind: 'partition' });
  }

  /**
   * Requests still reach the server, every reply is discarded: "the create succeeded but the
   * reply was lost". The client sees silence; `heal()` resets the connections that lost a
   * reply (the client then reconnects).
   */
  dropReplies(): void {
    this.#setFault({ kind: 'dropReplies' });
  }

  /**
   * Adds `ms` of latency to every chunk in both directions; order is preserved (a chunk never
   * overtakes an earlier one, even when the delay is lowered). `delay(0)` is plain forwarding.
   * @throws RangeError unless `ms` is a finite number ≥ 0.
   */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`fault proxy: delay must be a finite number >= 0, got ${ms}`);
    this.#setFault({ kind: 'delay', ms });
  }

  /**
   * On every connection live now, the first reply after the next request is lost: the first
   * server → client chunk that follows a client → server chunk is discarded and the connection
   * is reset (the client gets ECONNRESET and reconnects). The request took effect on the
   * server; the client cannot know. Replies already in flight and unsolicited server pushes
   * (e.g. on a pub/sub connection that sends nothing) pass. Connections opened later are not
   * affected, so the fault heals by itself. Caveat: a heartbeat sent by the client counts as a
   * request, so on an idle client its reply may be the one lost — `stats.lostReplies` tells.
   * @returns the number of connections armed (0 means there was nothing to hit).
   */
  loseNextReply(): number {
    for (const link of this.#links) link.arm();
    return this.#links.size;
  }

  /**
   * Resets (RST) every live connection on both sides — the client gets ECONNRESET, so does
   * the server — and keeps accepting new ones. The fault in force is unchanged.
   * @returns the number of connections reset.
   */
  reset(): number {
    const count = this.#links.size;
    for (const link of this.#links) link.reset();
    this.#stats.resets += count;
    return count;
  }

  /**
   * Back to plain forwarding for live and new connections, and cancels any `loseNextReply()`
   * still armed. Bytes held by `partition()` or `delay()` are delivered in order; bytes
   * discarded by `blackhole()` / `dropReplies()` are not replayed, and their connections are
   * reset.
   */
  heal(): void {
    for (const link of this.#links) link.disarm();
    this.#setFault(NONE);
  }

  /**
   * Stops listening, resets every connection and releases every socket and timer; resolves
   * once all of them have closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const links = [...this.#links];
    for (const link of links) link.reset();
    await Promise.all([stopped, ...links.map((link) => link.closed)]);
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.resetAndDestroy();
      return;
    }
    this.#stats.accepted += 1;
    const link = new Link(socket, this.target, {
      fault: () => this.#fault,
      dropped: (direction: Direction) => (direction === 'up' ? this.#stats.droppedUp++ : this.#stats.droppedDown++),
      received: (direction: Direction, bytes: number) =>
        direction === 'up' ? (this.#stats.bytesFromClients += bytes) : (this.#stats.bytesFromServer += bytes),
      lostReply: () => {
        this.#stats.lostReplies += 1;
        this.#stats.resets += 1;
      },
    });
    this.#links.add(link);
    void link.closed.then(() => this.#links.delete(link));
  }

  #setFault(fault: Fault): void {
    if (this.#closing !== undefined) return;
    this.#fault = fault;
    for (const link of this.#links) if (link.refresh()) this.#stats.resets += 1;
  }
}

/**
 * Starts a fault proxy in front of `target`, listening on a free loopback port.
 * @example
 * ```ts
 * await using proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: 6379 } });
 * const coord = await connect(`redis://${proxy.address}`);
 * proxy.dropReplies();      // the next write happens, its reply never arrives
 * proxy.heal();
 * ```
 * @throws the listen error (e.g. EADDRNOTAVAIL for a `listenHost` this machine lacks).
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { host, port } = options.target;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`fault proxy: bad target port ${port}`);
  if (host === '') throw new RangeError('fault proxy: empty target host');
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.listenHost ?? '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // No connection can be dispatched between the 'listening' callback and this synchronous
  // continuation (I/O callbacks never run between a resolve and its await), so the
  // constructor's 'connection' handler sees every client.
  return new FaultProxy(server, options.target);
}
