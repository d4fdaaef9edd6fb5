/**
 * Abort-signal plumbing shared by recipes and drivers. Node's `AbortSignal.any` keeps a
 * listener on each source until the source itself is collected, which leaks on long-lived
 * sources such as a session's signal; these helpers always remove what they add, and share
 * one listener per source signal among all their waiters (`onAbort`), so a session with
 * any number of timed waits or held leases never trips `MaxListenersExceededWarning`.
 *
 * Timeouts: any `timeout >= 0` is honoured in full, however long — timers are chained past
 * the 2^31 - 1 ms one Node timer holds (`setLongTimeout`) — and `Infinity` means no timeout.
 */
import { onAbort } from './abort-listeners.js';
import { CoordError, isCoordError } from './errors.js';
import { setLongTimeout, type LongTimeout } from './timers.js';
import { checkTimeout, checkWaitOptions } from './validate.js';

/** The `{ timeout, signal }` every blocking call takes. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds, with `TIMEOUT`: a number >= 0, honoured in full
   * however long (timers are chained past Node's 2^31 - 1 ms limit); `Infinity` or
   * `undefined` means no timeout. Anything else is `INVALID_ARGUMENT`, before any request.
   */
  readonly timeout?: number;
  /** Give up when this aborts, with `ABORTED`. Must be an `AbortSignal` (not its controller). */
  readonly signal?: AbortSignal;
}

/** A derived signal with the means to detach it from its sources. */
export interface LinkedSignal extends Disposable {
  /** Aborts when the first source aborts, with that source's reason. */
  readonly signal: AbortSignal;
  /** Detaches from every source and clears any timer. Idempotent. */
  dispose(): void;
}

/** A signal that aborts when any of `sources` aborts (with its reason). */
export function linkSignals(...sources: readonly (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const detachers: (() => void)[] = [];
  const dispose = (): void => {
    for (const detach of detachers.splice(0)) detach();
  };
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    detachers.push(
      onAbort(source, () => {
        dispose();
        controller.abort(source.reason);
      }),
    );
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

/**
 * The opening of every blocking call: checks `options` before any request (options that are
 * not an object, a bad timeout or a signal that is not an `AbortSignal` are `INVALID_ARGUMENT`, an already aborted signal `ABORTED`) and returns the call's start time,
 * from which {@link callSignal} counts the timeout once there is something to wait for.
 * @example `const startedAt = startWait(options, 'lock /a'); … callSignal({ ...options, startedAt }, 'lock /a')`
 * @throws CoordError `INVALID_ARGUMENT`, or the signal's reason.
 */
export function startWait(options: WaitOptions | undefined, what: string): number {
  const startedAt = performance.now();
  const checked = checkWaitOptions(options, what);
  throwIfAborted(checked.signal, what);
  return startedAt;
}

/** {@link WaitOptions} plus when the call started, for a deadline set up part-way through. */
export interface CallOptions extends WaitOptions {
  /** `performance.now()` when the call started; the timeout counts from here (default: now). */
  readonly startedAt?: number;
}

/**
 * The signal for one blocking call: aborts with `TIMEOUT` once `options.timeout` has passed
 * since `options.startedAt`, with `ABORTED` when `options.signal` aborts, and with the
 * reason of any `extra` signal (e.g. the session's). A timeout longer than one Node timer
 * can hold is chained, so it really waits; `Infinity` arms no timer. Dispose it when the
 * call ends, or its timer keeps the process alive.
 */
export function callSignal(options: CallOptions, what: string, ...extra: (AbortSignal | undefined)[]): LinkedSignal {
  const timeout = checkTimeout(options.timeout, what);
  const elapsed = options.startedAt === undefined ? 0 : performance.now() - options.startedAt;
  const user = options.signal;
  const controller = new AbortController();
  const linked = linkSignals(controller.signal, ...extra);
  let timer: LongTimeout | undefined;
  let detachUser: (() => void) | undefined;
  const onUserAbort = (): void => controller.abort(abortedError(what, user?.reason));
  const dispose = (): void => {
    timer?.cancel();
    detachUser?.();
    linked.dispose();
  };
  if (user?.aborted) {
    onUserAbort();
  } else {
    if (user !== undefined) detachUser = onAbort(user, onUserAbort);
    if (timeout !== undefined && timeout !== Number.POSITIVE_INFINITY) {
      const expire = (): void => controller.abort(new CoordError('TIMEOUT', `${what}: timed out after ${timeout} ms`));
      timer = setLongTimeout(expire, timeout - elapsed);
    }
  }
  return { signal: linked.signal, dispose, [Symbol.dispose]: dispose };
}

function abortedError(what: string, reason: unknown): CoordError {
  return new CoordError('ABORTED', `${what}: aborted`, reason === undefined ? {} : { cause: reason });
}

/** The reason of an aborted signal as a `CoordError` (wrapping foreign reasons as `ABORTED`). */
export function abortReason(signal: AbortSignal, what: string): CoordError {
  const reason: unknown = signal.reason;
  if (isCoordError(reason)) return reason;
  return abortedError(what, reason);
}

/** Throws the signal's reason (as a `CoordError`) if it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortReason(signal, what);
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts. The
 * listener is removed when either happens, so nothing accumulates on a long-lived signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal, what));
  return new Promise<T>((resolve, reject) => {
    const detach = onAbort(signal, () => reject(abortReason(signal, what)));
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (error: unknown) => {
        detach();
        reject(error);
      },
    );
  });
}

/**
 * Races a request against a deadline and an abort signal: resolves or rejects as the request
 * does, unless `ms` pass first (rejects with `timedOut()`) or `signal` aborts first (rejects
 * with its reason). Clears its timer and listener either way. Drivers bound every network
 * call with it, so a silent server can never hang a caller.
 */
export function raceDeadline<T>(
  promise: Promise<T>,
  options: { readonly ms: number; readonly signal?: AbortSignal | undefined; readonly what: string; readonly timedOut: () => Error },
): Promise<T> {
  const { ms, signal, what, timedOut } = options;
  if (signal?.aborted) {
    // The request is already on its way: its outcome no longer matters, but must not surface
    // as an unhandled rejection.
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    let detach: (() => void) | undefined;
    const done = (): void => {
      timer.cancel();
      detach?.();
    };
    const timer = setLongTimeout(() => {
      done();
      reject(timedOut());
    }, ms);
    if (signal !== undefined) {
      detach = onAbort(signal, () => {
        done();
        reject(abortReason(signal, what));
      });
    }
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/**
 * Resolves after `ms` (any length: timers are chained past 2^31 - 1 ms; `Infinity` waits
 * for the signal only), or rejects with the signal's reason; clears its timer either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal, 'sleep'));
  return new Promise<void>((resolve, reject) => {
    let detach: (() => void) | undefined;
    const timer = setLongTimeout(() => {
      detach?.();
      resolve();
    }, ms);
    if (signal !== undefined) {
      detach = onAbort(signal, () => {
        timer.cancel();
        reject(abortReason(signal, 'sleep'));
      });
    }
  });
}
