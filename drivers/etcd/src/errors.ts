/**
 * The one mapping from what the `etcd3` package and gRPC throw to {@link CoordError}, and the
 * classification the retry loop needs: may the request have reached etcd (so a write's
 * outcome is unknown), and is it worth trying again.
 *
 * etcd reports its own failures as gRPC statuses whose message starts with `etcdserver:`;
 * `etcd3` turns some into typed errors and leaves the rest as generic ones, so both the type
 * and the message are looked at. Messages never carry the password: etcd does not echo it,
 * and the prefix names the redacted URL only.
 */
import { CoordError, isCoordError, type ErrorCode } from '@coord/core';
import {
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  isRecoverableError,
} from 'etcd3';

/** How a failed request may be handled. */
export interface Failure {
  /** The error to report. */
  readonly error: CoordError;
  /** Worth sending again (the cluster may answer a moment later: no leader, a member down). */
  readonly transient: boolean;
  /**
   * The request may have been applied (its reply was lost, or it timed out inside etcd): a
   * write may be repeated only where a repeat cannot touch another node.
   */
  readonly maybeApplied: boolean;
}

/** etcd errors that mean the request was refused before it could be applied. */
const NOT_APPLIED = ['etcdserver: no leader', 'etcdserver: too many requests', 'etcdserver: not capable', 'etcdserver: server stopped'];
/** etcd errors after which the request may still be applied. */
const IN_DOUBT = ['etcdserver: request timed out', 'etcdserver: leader changed', 'etcdserver: unhealthy cluster'];
/** gRPC transport failures that happen before a request leaves the client. */
const NEVER_SENT = /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|Name resolution failed|ENOTFOUND|failed to connect/i;

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Classifies a failure of a request to etcd.
 * @param error what the call threw
 * @param what the component and request, for the message (`etcd 127.0.0.1:2379: get /a`)
 */
export function classify(error: unknown, what: string): Failure {
  if (isCoordError(error)) return { error, transient: false, maybeApplied: false };
  const message = messageOf(error);
  const make = (code: ErrorCode, transient: boolean, maybeApplied: boolean, retryable?: boolean): Failure => ({
    error: new CoordError(code, `${what}: ${message}`, retryable === undefined ? { cause: error } : { cause: error, retryable }),
    transient,
    maybeApplied,
  });
  if (
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdPermissionDeniedError ||
    error instanceof GRPCUnauthenticatedError ||
    /authentication is not enabled|invalid user ID or password|permission denied|user name not found|user name is empty/i.test(message)
  ) {
    return make('AUTH_FAILED', false, false);
  }
  // A token that expired is renewed by etcd3 itself; one that keeps failing is an auth failure.
  if (error instanceof EtcdInvalidAuthTokenError) return make('AUTH_FAILED', false, false);
  if (error instanceof EtcdLeaseInvalidError || /requested lease not found/.test(message)) {
    return make('SESSION_EXPIRED', false, false);
  }
  if (/request is too large|larger than max|message too large/i.test(message)) return make('PAYLOAD_TOO_LARGE', false, false);
  if (NOT_APPLIED.some((text) => message.includes(text))) return make('UNAVAILABLE', true, false);
  if (IN_DOUBT.some((text) => message.includes(text))) return make('CONNECTION_LOSS', true, true);
  if (error instanceof GRPCDeadlineExceededError) return make('TIMEOUT', true, true, true);
  if (error instanceof GRPCUnavailableError && NEVER_SENT.test(message)) return make('UNAVAILABLE', true, false);
  if (error instanceof Error && isRecoverableError(error)) return make('CONNECTION_LOSS', true, true);
  if (/etcdserver: key is not provided|etcdserver: duplicate key/.test(message)) return make('INVALID_ARGUMENT', false, false);
  return make('INTERNAL', false, true);
}

/** The {@link CoordError} for anything a call to etcd threw. */
export function toCoordError(error: unknown, what: string): CoordError {
  return classify(error, what).error;
}
