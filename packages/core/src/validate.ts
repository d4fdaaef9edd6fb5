/**
 * The one validation layer for public arguments, shared by every recipe and the Coordinator.
 *
 * The rule every public call keeps: it either refuses before any request, with a
 * `CoordError` `INVALID_ARGUMENT` whose message names the argument, or it completes (with
 * its result or its documented error); on no failure path does it leave a node, a watch, a
 * timer or a session behind. So every check here runs before the first request, and throws
 * synchronously — never a raw `TypeError` from touching a malformed argument later.
 */
import { CoordError, isCoordError } from './errors.js';
import { MAX_PATH_LENGTH, validatePath } from './paths.js';

/**
 * The root reserved for Coord's own nodes (groups live under `/.coord/groups`). A recipe
 * path at or under it is refused, so a lock can never pose as a group (or worse).
 */
export const RESERVED_ROOT = '/.coord';

/**
 * The longest per-attempt id a recipe puts in a node name: 10 hex characters and a base-36
 * counter of at most 11 characters (`Number.MAX_SAFE_INTEGER`).
 */
export const MAX_ATTEMPT_ID_LENGTH = 21;

/**
 * The longest suffix a backend appends to a sequential node name (ZooKeeper's 10 digits,
 * etcd's 16 hex characters, Redis's and memory's decimal counters up to 2^64).
 */
export const MAX_SEQUENCE_SUFFIX_LENGTH = 20;

/** `INVALID_ARGUMENT` for `argument` of `what`. */
function invalid(what: string, argument: string, why: string): CoordError {
  return new CoordError('INVALID_ARGUMENT', `${what}: ${argument} ${why}`);
}

/** A short, safe rendering of a bad value for messages (never its full contents). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : `an object (${Object.prototype.toString.call(value)})`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return 'a symbol';
  return String(value);
}

/**
 * The budget a recipe reserves past its path for one sequential child: `/` + `prefix` +
 * attempt id + `-` + the backend's sequence suffix.
 * @example `sequentialBudget('lock-')` is the room `<path>/lock-<attempt>-<seq>` needs.
 */
export function sequentialBudget(prefix: string): number {
  return 1 + prefix.length + MAX_ATTEMPT_ID_LENGTH + 1 + MAX_SEQUENCE_SUFFIX_LENGTH;
}

/**
 * Checks a recipe's path: a valid absolute path (see `validatePath`), outside the reserved
 * root `/.coord`, and short enough that the recipe's own nodes under it stay within
 * `MAX_PATH_LENGTH`: with `reserve` the length of the longest child name (with its `/`) the
 * recipe creates, the path may be at most `MAX_PATH_LENGTH - reserve` long.
 * @param argument for the message, e.g. `lock path`
 * @throws CoordError `INVALID_ARGUMENT` naming `argument`.
 */
export function checkPath(path: unknown, argument: string, reserve = 0): string {
  validatePath(path, argument);
  const valid = path as string;
  const limit = MAX_PATH_LENGTH - reserve;
  if (valid.length > limit) {
    throw new CoordError(
      'INVALID_ARGUMENT',
      `${argument} of ${valid.length} characters: longer than ${limit} (the recipe's own nodes need ${reserve} of the ${MAX_PATH_LENGTH})`,
    );
  }
  if (valid === RESERVED_ROOT || valid.startsWith(`${RESERVED_ROOT}/`)) {
    throw new CoordError('INVALID_ARGUMENT', `${argument} ${JSON.stringify(valid)}: ${RESERVED_ROOT} is reserved for Coord's own nodes`);
  }
  return valid;
}

/**
 * Checks an options argument: `undefined` (returned as `{}`) or a non-null, non-array object.
 * @param argument for the message, e.g. `options`
 * @throws CoordError `INVALID_ARGUMENT` (for `null` too).
 */
export function checkOptionsObject<T extends object>(options: T | undefined, what: string, argument = 'options'): T {
  if (options === undefined) return {} as T;
  const value: unknown = options;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(what, argument, `must be an object or undefined, got ${describeValue(value)}`);
  }
  return options;
}

/**
 * Checks a timeout: `undefined` (no timeout), `Infinity` (no timeout either) or a number
 * `>= 0` in milliseconds. Timeouts above the 2^31 - 1 ms a single Node timer can hold are
 * honoured in full (timers are chained, see `setLongTimeout`).
 * @throws CoordError `INVALID_ARGUMENT` for anything else (NaN, negative, not a number).
 */
export function checkTimeout(timeout: unknown, what: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw invalid(what, 'timeout', `must be a number >= 0 (ms; Infinity for none), got ${describeValue(timeout)}`);
  }
  return timeout;
}

/**
 * Whether `value` is an `AbortSignal`. Checks the tag and the shape as well as the prototype,
 * because signals made in another realm (a Jest sandbox, a worker) fail `instanceof`; an
 * `AbortController` (a common slip) is not one.
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown };
  return (
    Object.prototype.toString.call(value) === '[object AbortSignal]' &&
    typeof candidate.aborted === 'boolean' &&
    typeof candidate.addEventListener === 'function' &&
    typeof candidate.removeEventListener === 'function'
  );
}

/**
 * Checks a `signal` option: `undefined` or an `AbortSignal`.
 * @throws CoordError `INVALID_ARGUMENT` (naming an `AbortController` passed by mistake).
 */
export function checkSignal(signal: unknown, what: string, argument = 'signal'): AbortSignal | undefined {
  if (signal === undefined || isAbortSignal(signal)) return signal;
  const hint = Object.prototype.toString.call(signal) === '[object AbortController]' ? ' (pass controller.signal, not the controller)' : '';
  throw invalid(what, argument, `must be an AbortSignal or undefined, got ${describeValue(signal)}${hint}`);
}

/** The `{ timeout, signal }` of a blocking call (the same shape as `WaitOptions`). */
export interface CheckedWaitOptions {
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

/**
 * Checks the options of a blocking call: an object or undefined, a valid `timeout`, a valid
 * `signal`. Returns them with `undefined` fields left out.
 * @throws CoordError `INVALID_ARGUMENT` naming the bad option.
 */
export function checkWaitOptions(options: CheckedWaitOptions | undefined, what: string): CheckedWaitOptions {
  const object = checkOptionsObject(options, what);
  const timeout = checkTimeout(object.timeout, what);
  const signal = checkSignal(object.signal, what);
  if (timeout === undefined) return signal === undefined ? {} : { signal };
  return signal === undefined ? { timeout } : { timeout, signal };
}

/**
 * Checks the options of an iteration that ends when `signal` aborts (`observe`, `consume`,
 * `watch`): an object or undefined, with a valid `signal`.
 * @throws CoordError `INVALID_ARGUMENT`.
 */
export function checkSignalOptions(options: { readonly signal?: AbortSignal } | undefined, what: string): { readonly signal?: AbortSignal } {
  const signal = checkSignal(checkOptionsObject(options, what).signal, what);
  return signal === undefined ? {} : { signal };
}

/**
 * Checks a callback (a listener, a `withLock` body, `onRejoin`).
 * @throws CoordError `INVALID_ARGUMENT` unless it is a function.
 */
export function checkCallback<F extends (...args: never[]) => unknown>(fn: F, what: string, argument: string): F {
  if (typeof fn !== 'function') throw invalid(what, argument, `must be a function, got ${describeValue(fn)}`);
  return fn;
}

/**
 * Checks an optional callback: `undefined` or a function.
 * @throws CoordError `INVALID_ARGUMENT`.
 */
export function checkOptionalCallback<F extends (...args: never[]) => unknown>(fn: F | undefined, what: string, argument: string): F | undefined {
  return fn === undefined ? undefined : checkCallback(fn, what, argument);
}

/**
 * Checks an optional boolean flag (`rejoin`, `ephemeral`).
 * @throws CoordError `INVALID_ARGUMENT` unless it is undefined or a boolean.
 */
export function checkOptionalBoolean(value: unknown, what: string, argument: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(what, argument, `must be a boolean or undefined, got ${describeValue(value)}`);
  return value;
}

/** What a codec must offer (the `Codec` of `codec.ts`). */
export interface CodecShape<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/**
 * Checks a `codec` option: `undefined` (gives `fallback`) or an object with `encode` and
 * `decode` functions. A user's codec comes back guarded: whatever its `encode` or `decode`
 * throws that is not a `CoordError` is rethrown as `INVALID_ARGUMENT` (the original as its
 * `cause`), so a careless codec never surfaces as a raw error.
 * @throws CoordError `INVALID_ARGUMENT`.
 */
export function checkCodec<T>(codec: CodecShape<T> | undefined, fallback: CodecShape<T>, what: string): CodecShape<T> {
  if (codec === undefined) return fallback;
  const value: unknown = codec;
  const shape = value as { encode?: unknown; decode?: unknown } | null;
  if (typeof value !== 'object' || shape === null || typeof shape.encode !== 'function' || typeof shape.decode !== 'function') {
    throw invalid(what, 'codec', `must be an object with encode and decode functions, got ${describeValue(value)}`);
  }
  return {
    encode: (item) => guarded(() => codec.encode(item), what, 'encode'),
    decode: (bytes) => guarded(() => codec.decode(bytes), what, 'decode'),
  };
}

/** Runs a user codec's method; a throw that is not a CoordError becomes `INVALID_ARGUMENT`. */
function guarded<R>(run: () => R, what: string, method: 'encode' | 'decode'): R {
  try {
    return run();
  } catch (error) {
    if (isCoordError(error)) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new CoordError('INVALID_ARGUMENT', `${what}: the codec's ${method} threw: ${detail}`, { cause: error });
  }
}

/**
 * Checks a count every client must agree on (a semaphore's permits, a double barrier's
 * count): a positive safe integer — not 0, not 1.5, not `'3'`.
 * @throws CoordError `INVALID_ARGUMENT` naming `argument`.
 */
export function checkPositiveInteger(value: unknown, what: string, argument: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(what, argument, `must be a positive safe integer, got ${describeValue(value)}`);
  }
  return value;
}
