/**
 * The one mapping from ZooKeeper return codes (and anything else a call may throw) to
 * {@link CoordError}. Messages name the component, the redacted URL and the operation —
 * never a password (the URL given here is `config.redacted`).
 */
import { CoordError, isCoordError, type ErrorCode } from '@coord/core';
import { Code } from './native.js';

const BY_CODE: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [Code.CONNECTION_LOSS, 'CONNECTION_LOSS'],
  // The C client fails the requests in flight with this code when it gives up on a silent
  // connection: like a connection loss, their outcome is unknown.
  [Code.OPERATION_TIMEOUT, 'CONNECTION_LOSS'],
  [Code.NO_NODE, 'NO_NODE'],
  [Code.NODE_EXISTS, 'NODE_EXISTS'],
  [Code.BAD_VERSION, 'BAD_VERSION'],
  [Code.NOT_EMPTY, 'NOT_EMPTY'],
  [Code.NO_AUTH, 'AUTH_FAILED'],
  [Code.AUTH_FAILED, 'AUTH_FAILED'],
  [Code.SESSION_EXPIRED, 'SESSION_EXPIRED'],
  [Code.SESSION_MOVED, 'SESSION_EXPIRED'],
  // The handle is closed or expired: the session it carried is over.
  [Code.INVALID_STATE, 'SESSION_EXPIRED'],
  [Code.CLOSING, 'CLOSED'],
  [Code.BAD_ARGUMENTS, 'INVALID_ARGUMENT'],
  [Code.NO_CHILDREN_FOR_EPHEMERALS, 'INVALID_ARGUMENT'],
  [Code.INVALID_ACL, 'INVALID_ARGUMENT'],
  // The request was too large to marshal (or the reply malformed): refused before sending.
  [Code.MARSHALLING_ERROR, 'PAYLOAD_TOO_LARGE'],
  [Code.NEW_CONFIG_NO_QUORUM, 'UNAVAILABLE'],
  [Code.RECONFIG_IN_PROGRESS, 'UNAVAILABLE'],
  [Code.NOT_READ_ONLY, 'UNAVAILABLE'],
  [Code.THROTTLED, 'UNAVAILABLE'],
]);

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Code).map(([name, code]) => [code, name]));

/** Where an error happened, for its message. */
export interface ErrorContext {
  /** The redacted URL (`zookeeper://user:***@h:2181/app`). */
  readonly url: string;
  /** The operation: `create /a/b`. */
  readonly what: string;
}

/**
 * Maps a ZooKeeper return code, or any thrown value, to a {@link CoordError}. A `CoordError`
 * passes through unchanged; an unknown code or value becomes `INTERNAL`.
 * @example `toCoordError(-101, { url, what: 'get /a' })` is a `NO_NODE` error.
 */
export function toCoordError(error: unknown, context: ErrorContext): CoordError {
  if (isCoordError(error)) return error;
  const prefix = `zookeeper ${context.url}: ${context.what}`;
  if (typeof error === 'number') {
    const name = NAMES.get(error) ?? 'unknown code';
    return new CoordError(BY_CODE.get(error) ?? 'INTERNAL', `${prefix}: ${name} (${error})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CoordError('INTERNAL', `${prefix}: ${message}`, { cause: error });
}
