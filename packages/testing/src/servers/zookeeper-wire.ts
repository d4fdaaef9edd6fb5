/**
 * Just enough of ZooKeeper's client protocol (jute records over length-prefixed frames) to
 * open a session — a new one, or an existing one by id and password, which is how sessions
 * are expired on purpose — and to send `closeSession`, `ping`, `exists` and `create`.
 * Written here rather than taken from the `zookeeper` npm package so `@coord/testing` needs
 * no native addon: it is only a fault injector and a probe, not a client for applications.
 */
import type { Socket } from 'node:net';
import { CoordError } from '@coord/core';
import { openSocket, SocketReader, type Endpoint, type Parser } from './net.js';

/** ZooKeeper operation codes used here. */
const OP = { create: 1, exists: 3, ping: 11, closeSession: -11 } as const;
/** ZooKeeper error codes used here. */
export const ZK_ERROR = { ok: 0, noNode: -101, nodeExists: -110, sessionExpired: -112 } as const;
const PING_XID = -2;
const WATCH_XID = -1;

/** Serialises jute primitives, big-endian. */
class Jute {
  readonly #parts: Buffer[] = [];
  int(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    this.#parts.push(b);
    return this;
  }
  long(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt.asIntN(64, value));
    this.#parts.push(b);
    return this;
  }
  bool(value: boolean): this {
    this.#parts.push(Buffer.from([value ? 1 : 0]));
    return this;
  }
  buffer(value: Uint8Array): this {
    this.int(value.length);
    this.#parts.push(Buffer.from(value));
    return this;
  }
  raw(bytes: Buffer): this {
    this.#parts.push(bytes);
    return this;
  }
  string(value: string): this {
    return this.buffer(Buffer.from(value, 'utf8'));
  }
  /** The serialised record. */
  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
  /** The record as one length-prefixed frame. */
  frame(): Buffer {
    const body = this.bytes();
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length);
    return Buffer.concat([length, body]);
  }
}

/** One frame's payload. */
const frame: Parser<Buffer> = (buffer) => {
  if (buffer.length < 4) return undefined;
  const length = buffer.readInt32BE(0);
  if (buffer.length < 4 + length) return undefined;
  return { value: buffer.subarray(4, 4 + length), used: 4 + length };
};

/** The session a connection is bound to. */
export interface ZooKeeperSessionInfo {
  /** Session id. */
  readonly id: bigint;
  /** Session password (16 bytes). */
  readonly password: Buffer;
  /** Negotiated session timeout, ms. */
  readonly timeout: number;
}

/** Options of {@link ZooKeeperWire.connect}. */
export interface WireConnectOptions {
  /** Requested session timeout, ms (default 10 000). */
  readonly sessionTimeout?: number;
  /** Resume this session instead of creating one. */
  readonly sessionId?: bigint;
  /** The resumed session's password. */
  readonly password?: Uint8Array;
}

/** Formats a session id the way ZooKeeper prints it (`0x` + hex). */
export function formatSessionId(id: bigint): string {
  return `0x${BigInt.asUintN(64, id).toString(16)}`;
}

/** One connection speaking the ZooKeeper protocol. */
export class ZooKeeperWire {
  readonly #socket: Socket;
  readonly #reader: SocketReader;
  /** The session this connection is bound to. */
  readonly session: ZooKeeperSessionInfo;
  #xid = 0;

  private constructor(socket: Socket, reader: SocketReader, session: ZooKeeperSessionInfo) {
    this.#socket = socket;
    this.#reader = reader;
    this.session = session;
  }

  /**
   * Opens a connection and a session (or resumes `options.sessionId`).
   * @throws CoordError `SESSION_EXPIRED` if the server refuses the session (expired, unknown
   *   or wrong password: ZooKeeper does not tell them apart); Error on network failure.
   */
  static async connect(endpoint: Endpoint, options: WireConnectOptions, signal: AbortSignal): Promise<ZooKeeperWire> {
    const socket = await openSocket(endpoint, signal);
    try {
      const reader = new SocketReader(socket);
      const request = new Jute()
        .int(0) // protocolVersion
        .long(0n) // lastZxidSeen: 0 is never ahead of the server, so it never refuses us for it
        .int(options.sessionTimeout ?? 10_000)
        .long(options.sessionId ?? 0n)
        .buffer(options.password ?? Buffer.alloc(16))
        .bool(false); // readOnly
      socket.write(request.frame());
      const reply = await reader.read(frame, signal);
      const timeout = reply.readInt32BE(4);
      const id = reply.readBigInt64BE(8);
      const passwordLength = reply.readInt32BE(16);
      const password = Buffer.from(reply.subarray(20, 20 + passwordLength));
      if (timeout <= 0) {
        const what = options.sessionId === undefined ? 'a new session' : `session ${formatSessionId(options.sessionId)}`;
        throw new CoordError('SESSION_EXPIRED', `zookeeper ${endpoint.host}:${endpoint.port} refused ${what}`);
      }
      return new ZooKeeperWire(socket, reader, { id, password, timeout });
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /** Sends a ping; resolves when answered. @throws Error if the connection is closed. */
  async ping(signal: AbortSignal): Promise<void> {
    await this.#call(PING_XID, OP.ping, new Jute(), signal);
  }

  /** Whether `path` exists. @throws CoordError `SESSION_EXPIRED`, Error on connection loss. */
  async exists(path: string, signal: AbortSignal): Promise<boolean> {
    const err = await this.#call(this.#nextXid(), OP.exists, new Jute().string(path).bool(false), signal);
    if (err === ZK_ERROR.noNode) return false;
    this.#check(err, `exists ${path}`);
    return true;
  }

  /** Creates `path` (ephemeral if asked) with open ACLs. @throws CoordError on a server error. */
  async create(path: string, data: Uint8Array, ephemeral: boolean, signal: AbortSignal): Promise<void> {
    const body = new Jute().string(path).buffer(data);
    body.int(1).int(31).string('world').string('anyone'); // ACL: OPEN_ACL_UNSAFE
    body.int(ephemeral ? 1 : 0);
    this.#check(await this.#call(this.#nextXid(), OP.create, body, signal), `create ${path}`);
  }

  /** Ends the session on the server (its ephemeral nodes go) and closes the connection. */
  async closeSession(signal: AbortSignal): Promise<void> {
    try {
      this.#check(await this.#call(this.#nextXid(), OP.closeSession, new Jute(), signal), 'closeSession');
    } finally {
      this.destroy();
    }
  }

  /** Drops the connection without ending the session. */
  destroy(): void {
    this.#socket.destroy();
  }

  #nextXid(): number {
    this.#xid += 1;
    return this.#xid;
  }

  /** Sends one request and returns the reply's error code (watch events are skipped). */
  async #call(xid: number, op: number, body: Jute, signal: AbortSignal): Promise<number> {
    const request = new Jute().int(xid).int(op); // RequestHeader
    this.#socket.write(request.raw(body.bytes()).frame());
    for (;;) {
      const reply = await this.#reader.read(frame, signal);
      const replyXid = reply.readInt32BE(0);
      if (replyXid === WATCH_XID) continue;
      if (replyXid !== xid) throw new Error(`zookeeper: reply for xid ${replyXid}, expected ${xid}`);
      return reply.readInt32BE(12);
    }
  }

  #check(err: number, what: string): void {
    if (err === ZK_ERROR.ok) return;
    if (err === ZK_ERROR.sessionExpired) throw new CoordError('SESSION_EXPIRED', `zookeeper: ${what}: session expired`);
    if (err === ZK_ERROR.nodeExists) throw new CoordError('NODE_EXISTS', `zookeeper: ${what}: node exists`);
    if (err === ZK_ERROR.noNode) throw new CoordError('NO_NODE', `zookeeper: ${what}: no node`);
    throw new CoordError('INTERNAL', `zookeeper: ${what}: server error ${err}`);
  }
}
