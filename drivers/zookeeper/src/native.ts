/**
 * The slice of the `zookeeper` npm package (the Apache ZooKeeper C client in a Node addon)
 * this driver uses, typed. The package's promise methods (`create`, `get`, ...) reject with
 * an `Error` whose message merely starts with the return code, so the driver calls the
 * `a_*` / `aw_*` methods of the same object, whose callbacks hand over the numeric code
 * itself: one exact code for {@link toCoordError}, no message parsing.
 */
import { createRequire } from 'node:module';

/** A znode's stat, as the addon reports it (zxids as doubles: exact below 2^53). */
export interface Stat {
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly version: number;
  readonly cversion: number;
  readonly numChildren: number;
  readonly dataLength: number;
  /** The owning session id in hexadecimal; `'0'` for a persistent node. */
  readonly ephemeralOwner: string;
}

/** Callback of a request: `rc` is 0 or a ZooKeeper error code. */
export type Completion<A extends unknown[]> = (rc: number, message: string, ...result: A) => void;

/** A native watcher: event type, connection state, path. */
export type NativeWatcher = (type: number, state: number, path: string) => void;

/** The addon's client handle (the methods this driver calls). */
export interface NativeClient {
  init(config: NativeConfig): NativeClient;
  close(): void;
  on(event: 'connect' | 'connecting', listener: () => void): void;
  on(event: 'close', listener: (client: unknown, code: number) => void): void;
  removeAllListeners(): void;
  a_create(path: string, data: Buffer, flags: number, done: Completion<[string]>): number;
  a_exists(path: string, watch: boolean, done: Completion<[Stat]>): number;
  aw_exists(path: string, watcher: NativeWatcher, done: Completion<[Stat]>): number;
  a_get(path: string, watch: boolean, done: Completion<[Stat, Buffer | null]>): number;
  aw_get(path: string, watcher: NativeWatcher, done: Completion<[Stat, Buffer | null]>): number;
  a_get_children2(path: string, watch: boolean, done: Completion<[string[], Stat]>): number;
  aw_get_children2(path: string, watcher: NativeWatcher, done: Completion<[string[], Stat]>): number;
  a_set(path: string, data: Buffer, version: number, done: Completion<[Stat]>): number;
  a_delete_(path: string, version: number, done: Completion<[]>): number;
  add_auth(scheme: string, auth: string, done: Completion<[]>): number;
  a_sync(path: string, done: Completion<[string]>): number;
  /** Connection state (see {@link State}). */
  readonly state: number;
  /** Session id, hexadecimal. */
  readonly client_id: string;
  /** Session password, hexadecimal (16 bytes). */
  readonly client_password: string;
  /** The session timeout the server granted, ms (0 before the first connection). */
  readonly timeout: number;
}

/** What `init` takes. */
export interface NativeConfig {
  /** `host:port,host:port` (no chroot: the driver prefixes its namespace itself). */
  readonly connect: string;
  /** Requested session timeout, ms. */
  readonly timeout: number;
  /** C client log level; 0 turns its stderr logging off. */
  readonly debug_level: number;
  readonly host_order_deterministic: boolean;
  /**
   * The addon treats this many consecutive empty polls as a dead session; raised so that a
   * slow or silent network is left to the C client's own timeouts and our local deadline.
   */
  readonly response_counter_limit: number;
}

/** ZooKeeper return codes the driver branches on (the C client's `ZOO_ERRORS`). */
export const Code = {
  OK: 0,
  SYSTEM_ERROR: -1,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  INVALID_STATE: -9,
  NEW_CONFIG_NO_QUORUM: -13,
  RECONFIG_IN_PROGRESS: -14,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
  CLOSING: -116,
  SESSION_MOVED: -118,
  NOT_READ_ONLY: -119,
  THROTTLED: -127,
} as const;

/** Create flags. */
export const CreateFlag = { PERSISTENT: 0, EPHEMERAL: 1, SEQUENCE: 2, CONTAINER: 4 } as const;

/** Connection states (`zoo_state`), and the codes a `close` event carries. */
export const State = { CONNECTING: 1, ASSOCIATING: 2, CONNECTED: 3, EXPIRED: -112, AUTH_FAILED: -113 } as const;

/** Watcher event types. */
export const EventType = { CREATED: 1, DELETED: 2, CHANGED: 3, CHILD: 4, SESSION: -1, NOT_WATCHING: -2 } as const;

type NativeConstructor = new () => NativeClient;

let loaded: NativeConstructor | undefined;

/** A new, unconnected client handle (loads the addon on first use). */
export function newNativeClient(): NativeClient {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = require('zookeeper') as NativeConstructor;
  }
  return new loaded();
}
