/**
 * The one mapping from what ioredis and Redis say to a {@link CoordError}.
 *
 * ioredis errors can carry the command that failed, arguments included — for `AUTH` that is
 * the password — so a native error is never attached as a `cause`: the cause is a plain
 * `Error` holding only the native name and message, with any secret scrubbed from it.
 */
import { CoordError, ErrorCode, isCoordError } from '@coord/core';

/** How much is known about a failed request's effect on the server. */
export type Outcome =
  /** The server answered with an error: nothing was applied (scripts check before they write). */
  | 'refused'
  /** The request never left the client (no connection): sending it again is always safe. */
  | 'unsent'
  /** The request may have reached the server (connection lost or silent with it in flight). */
  | 'unknown';

/** A failed request, classified. */
export interface Classified {
  /** The error to report. */
  readonly error: CoordError;
  /** Whether the request may have been applied (what a repeat is allowed to do depends on it). */
  readonly outcome: Outcome;
}

const CODES = new Set<string>(Object.values(ErrorCode));

/** Network error codes of Node that mean "could not reach the server". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** What ioredis says when it refused a command locally: no connection to write it to. */
const NEVER_WRITTEN = /Stream isn't writeable|enableOfflineQueue/;

/** What ioredis says when the connection is gone: unsent if said before writing, else unknown. */
const CLOSED = /Connection is closed/;

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

/** A cause safe to keep: only the native error's name, code and (scrubbed) message. */
function safeCause(error: unknown, secrets: readonly string[]): Error {
  const native = error as { name?: unknown; message?: unknown; code?: unknown } | null | undefined;
  const name = typeof native?.name === 'string' ? native.name : 'Error';
  const message = scrub(typeof native?.message === 'string' ? native.message : String(error), secrets);
  const cause = new Error(message);
  cause.name = name;
  if (typeof native?.code === 'string') (cause as Error & { code?: string }).code = native.code;
  return cause;
}

/**
 * Maps anything a request to Redis can fail with to a `CoordError`, and says whether the
 * request may have been applied.
 * @param what names the operation and the redacted endpoint, for the message
 * @param secrets strings that must never appear in a message (the password)
 * @param inFlight whether the request had been written when it failed (then a lost connection
 *   leaves its outcome unknown)
 */
export function classify(error: unknown, what: string, secrets: readonly string[] = [], inFlight = true): Classified {
  if (isCoordError(error)) return { error, outcome: error.code === 'CONNECTION_LOSS' || error.code === 'TIMEOUT' ? 'unknown' : 'refused' };
  const native = error as { name?: unknown; message?: unknown; code?: unknown } | null | undefined;
  const message = scrub(typeof native?.message === 'string' ? native.message : String(error), secrets);
  const cause = safeCause(error, secrets);
  const make = (code: ErrorCode, text: string, outcome: Outcome): Classified => ({
    error: new CoordError(code, `${what}: ${text}`, { cause }),
    outcome,
  });
  // Our scripts' own refusals: `COORD <CODE> <message>`.
  const ours = /^COORD ([A-Z_]+) ([\s\S]*)$/.exec(message);
  if (ours !== null && CODES.has(ours[1] as string)) return make(ours[1] as ErrorCode, ours[2] as string, 'refused');
  if (/^(NOAUTH|WRONGPASS)\b|invalid password|invalid username-password/i.test(message)) {
    return make('AUTH_FAILED', 'authentication failed (check the user name and password)', 'refused');
  }
  if (/^NOPERM\b/.test(message)) return make('AUTH_FAILED', `not permitted: ${message}`, 'refused');
  if (/^(LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|BUSY)\b/.test(message)) return make('UNAVAILABLE', message, 'refused');
  if (/^OOM\b/.test(message)) return make('UNAVAILABLE', `the server is out of memory: ${message}`, 'refused');
  if (/^(MOVED|ASK|CROSSSLOT)\b/.test(message)) {
    return make('INTERNAL', `cluster redirection (use one master per namespace): ${message}`, 'refused');
  }
  if (native?.name === 'ReplyError') return make('INTERNAL', `unexpected reply: ${message}`, 'refused');
  const code = typeof native?.code === 'string' ? native.code : '';
  if (UNREACHABLE.has(code)) return make('UNAVAILABLE', `cannot reach the server (${code})`, 'unsent');
  if (NEVER_WRITTEN.test(message) || (CLOSED.test(message) && !inFlight)) return make('UNAVAILABLE', 'not connected to the server', 'unsent');
  if (/timed? ?out/i.test(message) || code === 'ETIMEDOUT') return make('TIMEOUT', message, inFlight ? 'unknown' : 'unsent');
  if (!inFlight) return make('UNAVAILABLE', message, 'unsent');
  return make('CONNECTION_LOSS', `connection lost with the request in flight (${message})`, 'unknown');
}

/**
 * The single mapping to `CoordError` (see {@link classify}).
 * @example `catch (e) { throw toCoordError(e, 'redis 127.0.0.1:6379: get /a') }`
 */
export function toCoordError(error: unknown, what: string, secrets: readonly string[] = []): CoordError {
  return classify(error, what, secrets).error;
}
