/**
 * Abort-signal plumbing shared by recipes and drivers. Node's `AbortSignal.any` keeps a
 * listener on each source until the source itself is collected, which leaks on long-lived
 * sources such as a session's signal; these helpers always remove what they add.
 */
import { CoordError, isCoordError } from './errors.js';

/** The `{ timeout, signal }` every blocking call takes. */
export interface WaitOptions {
  /** Give up after this many milliseconds, with `TIMEOUT`. */
  readonly timeout?: number;
  /** Give up when this aborts, with `ABORTED`. */
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
    const onAbort = (): void => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    detachers.push(() => source.removeEventListener('abort', onAbort));
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

/**
 * Checks a user-supplied timeout.
 * @throws CoordError `INVALID_ARGUMENT` unless it is undefined or a finite number >= 0.
 */
export function checkTimeout(timeout: unknown, what: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new CoordError('INVALID_ARGUMENT', `${what}: timeout must be a finite number >= 0, got ${String(timeout)}`);
  }
  return timeout;
}

/**
 * The opening of every blocking call: checks `options` before any request (a bad timeout is
 * `INVALID_ARGUMENT`, an already aborted signal `ABORTED`) and returns the call's start time,
 * from which {@link callSignal} counts the timeout once there is something to wait for.
 * @example `const startedAt = startWait(options, 'lock /a'); … callSignal({ ...options, startedAt }, 'lock /a')`
 * @throws CoordError `INVALID_ARGUMENT`, or the signal's reason.
 */
export function startWait(options: WaitOptions, what: string): number {
  const startedAt = performance.now();
  checkTimeout(options.timeout, what);
  throwIfAborted(options.signal, what);
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
 * reason of any `extra` signal (e.g. the session's). Dispose it when the call ends, or its
 * timer keeps the process alive.
 */
export function callSignal(options: CallOptions, what: string, ...extra: (AbortSignal | undefined)[]): LinkedSignal {
  const timeout = checkTimeout(options.timeout, what);
  const elapsed = options.startedAt === undefined ? 0 : performance.now() - options.startedAt;
  const user = options.signal;
  const controller = new AbortController();
  const linked = linkSignals(controller.signal, ...extra);
  let timer: NodeJS.Timeout | undefined;
  const onUserAbort = (): void => controller.abort(abortedError(what, user?.reason));
  const dispose = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    user?.removeEventListener('abort', onUserAbort);
    linked.dispose();
  };
  if (user?.aborted) {
    onUserAbort();
  } else {
    user?.addEventListener('abort', onUserAbort, { once: true });
    if (timeout !== undefined) {
      const expire = (): void => controller.abort(new CoordError('TIMEOUT', `${what}: timed out after ${timeout} ms`));
      timer = setTimeout(expire, Math.max(0, timeout - elapsed));
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
    const onAbort = (): void => reject(abortReason(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
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
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(abortReason(signal as AbortSignal, what));
    };
    const timer = setTimeout(() => {
      done();
      reject(timedOut());
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
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

/** Resolves after `ms`, or rejects with the signal's reason; clears its timer either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal, 'sleep'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal, 'sleep'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
