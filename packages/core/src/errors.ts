/**
 * The one error type of Coord. Every failure a user can see — from a URL, a recipe or any
 * driver — is a {@link CoordError} whose {@link CoordError.code} is one of {@link ErrorCode}.
 * Drivers translate their native errors through a single `toCoordError` function each.
 */

/** Every error code, with whether a caller may retry the same call. */
export const ErrorCode = {
  /** The connection URL is malformed or names an unknown option. */
  INVALID_URL: 'INVALID_URL',
  /** An argument is malformed (a bad path, a negative timeout, a wrong type...). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The backend exists in the URL grammar but its driver is not available. */
  UNSUPPORTED: 'UNSUPPORTED',
  /** A call's `timeout` (or a network call's deadline) passed first. */
  TIMEOUT: 'TIMEOUT',
  /** The caller's `signal` aborted the call. */
  ABORTED: 'ABORTED',
  /** The coordinator (or driver) was closed. */
  CLOSED: 'CLOSED',
  /** The session the call or handle was bound to has expired. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** `create` of a node that already exists. */
  NODE_EXISTS: 'NODE_EXISTS',
  /** An operation that needs a node found none. */
  NO_NODE: 'NO_NODE',
  /** A conditional write's expected version did not match. */
  BAD_VERSION: 'BAD_VERSION',
  /** `delete` of a node that still has children. */
  NOT_EMPTY: 'NOT_EMPTY',
  /** The backend cannot be reached (or lost its quorum). */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The connection was lost with a request in flight; its outcome is unknown. */
  CONNECTION_LOSS: 'CONNECTION_LOSS',
  /** The backend refused the credentials. */
  AUTH_FAILED: 'AUTH_FAILED',
  /** A value exceeds what the backend accepts. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A held resource was lost (its node deleted or its session gone). */
  LOST: 'LOST',
  /** Group membership: the group does not exist. */
  GROUP_NOT_FOUND: 'GROUP_NOT_FOUND',
  /** Group membership: the group already exists. */
  GROUP_EXISTS: 'GROUP_EXISTS',
  /** Group membership: the group still has members. */
  GROUP_NOT_EMPTY: 'GROUP_NOT_EMPTY',
  /** Group membership: the member id is taken. */
  MEMBER_EXISTS: 'MEMBER_EXISTS',
  /** Two clients disagree on a recipe's parameters (e.g. a semaphore's permits). */
  CONFLICT: 'CONFLICT',
  /** A bug or an unexpected backend answer. */
  INTERNAL: 'INTERNAL',
} as const;

/** A {@link CoordError} code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UNAVAILABLE,
  ErrorCode.CONNECTION_LOSS,
  ErrorCode.TIMEOUT,
]);

/** Options of the {@link CoordError} constructor. */
export interface CoordErrorOptions {
  /** The underlying error. Never pass an object that carries a password. */
  readonly cause?: unknown;
  /** Overrides the code's default retryability. */
  readonly retryable?: boolean;
}

/**
 * An error from Coord.
 *
 * @example
 * ```ts
 * try { await lock.acquire({ timeout: 1000 }); }
 * catch (e) { if (isCoordError(e, 'TIMEOUT')) console.log('busy'); else throw e; }
 * ```
 */
export class CoordError extends Error {
  /** What went wrong, from {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** Whether repeating the same call may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: CoordErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoordError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }

  /** A plain object for logs: name, code, message, retryable (never the cause's internals). */
  toJSON(): { name: string; code: ErrorCode; message: string; retryable: boolean } {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
  }
}

/**
 * Whether `error` is a {@link CoordError}, optionally with one of the given codes.
 * Works across module copies and Jest realms (checks the shape, not the prototype).
 */
export function isCoordError(error: unknown, ...codes: ErrorCode[]): error is CoordError {
  if (!(error instanceof Error) && (typeof error !== 'object' || error === null)) return false;
  const candidate = error as { name?: unknown; code?: unknown };
  if (candidate.name !== 'CoordError' || typeof candidate.code !== 'string') return false;
  return codes.length === 0 || codes.includes(candidate.code as ErrorCode);
}
