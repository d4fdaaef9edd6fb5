/**
 * A pass-through {@link Driver} that injects, on chosen requests, the faults a real backend
 * produces and an in-memory store never does: a request that fails without being applied, a
 * reply lost after the server applied the request, a request or a reply held until the test
 * lets it go, and a delete whose reply is lost, which the driver then repeats or reports the
 * way the Driver contract says. Works over any driver; over the memory driver it makes
 * "what if this reply never arrives?" a fast, deterministic unit test.
 */
import { CoordError, sleep, type Driver, type VersionOptions } from '@coord/core';
import { ForwardingDriver, type RequestMethod } from './forwarding-driver.js';

/**
 * Which requests to disturb. Every hook is asked on every request, with the request's method
 * and its path (the directory for `createSequential` and `children`); a hook that answers
 * `undefined` leaves the request alone. Hooks are read at each request, so a test may replace
 * them (or {@link FaultDriver.faults} as a whole) at any time.
 *
 * For one request the steps run in this order: `holdBefore`, `fail`, the request itself,
 * `loseReply` (or, for deletes, `loseDeleteReply`), `holdAfter`.
 */
export interface DriverFaults {
  /** Holds the request, before it is sent, until the promise resolves (if it rejects, so does the request, unapplied). */
  holdBefore?: (method: RequestMethod, path: string) => Promise<void> | undefined;
  /** Rejects with this error without applying the request (e.g. the backend is unreachable). */
  fail?: (method: RequestMethod, path: string) => CoordError | undefined;
  /** Applies the request, then rejects with this error instead of its reply (a lost reply). */
  loseReply?: (method: RequestMethod, path: string) => CoordError | undefined;
  /** Applies the request, then holds its reply until the promise resolves (if it rejects, so does the request, applied). */
  holdAfter?: (method: RequestMethod, path: string) => Promise<void> | undefined;
  /**
   * Deletes: applies the delete and loses its reply; then, as the Driver contract allows a
   * real driver, repeats it after this many ms if the call carried a `token` (answering with
   * the repeat's result), and otherwise rejects with `CONNECTION_LOSS`.
   */
  loseDeleteReply?: (path: string) => number | undefined;
}

/**
 * Wraps a driver and disturbs its requests as {@link DriverFaults} say.
 * @example
 * ```ts
 * // The first create under /jobs is applied, but its reply is lost.
 * const faults: DriverFaults = { loseReply: faultOnce((method, path) => method === 'create' && path.startsWith('/jobs/'), connectionLoss) };
 * const coord = await connect('memory://t', { wrapDriver: (d) => new FaultDriver(d, faults) });
 * ```
 */
export class FaultDriver<D extends Driver = Driver> extends ForwardingDriver<D> {
  /** The faults to inject; replace at will. */
  faults: DriverFaults;

  constructor(inner: D, faults: DriverFaults = {}) {
    super(inner);
    this.faults = faults;
  }

  override delete(path: string, options?: VersionOptions): Promise<boolean> {
    return this.forward('delete', path, async () => {
      const deleted = await this.inner.delete(path, options);
      const delay = this.faults.loseDeleteReply?.(path);
      if (delay === undefined) return deleted;
      if (options?.token === undefined) throw new CoordError('CONNECTION_LOSS', `injected: reply of delete ${path} lost, outcome unknown`);
      await sleep(delay);
      return this.inner.delete(path, options);
    });
  }

  /** Runs the steps of {@link DriverFaults} around the request. */
  protected override async forward<R>(method: RequestMethod, path: string, request: () => Promise<R>): Promise<R> {
    await this.faults.holdBefore?.(method, path);
    const failure = this.faults.fail?.(method, path);
    if (failure !== undefined) throw failure;
    const result = await request();
    const lost = this.faults.loseReply?.(method, path);
    if (lost !== undefined) throw lost;
    await this.faults.holdAfter?.(method, path);
    return result;
  }
}

/**
 * A hook that answers `error()` for the first request `match` accepts, and nothing afterwards.
 * @example
 * ```ts
 * const faults: DriverFaults = { fail: faultOnce((method) => method === 'children', unavailable) };
 * ```
 */
export function faultOnce(
  match: (method: RequestMethod, path: string) => boolean,
  error: () => CoordError,
): (method: RequestMethod, path: string) => CoordError | undefined {
  let done = false;
  return (method, path) => {
    if (done || !match(method, path)) return undefined;
    done = true;
    return error();
  };
}

/** A `CONNECTION_LOSS` error: the reply was lost, the caller cannot tell whether the request was applied. */
export const connectionLoss = (): CoordError => new CoordError('CONNECTION_LOSS', 'injected: reply lost, outcome unknown');

/** An `UNAVAILABLE` error: the request did not reach the backend. */
export const unavailable = (): CoordError => new CoordError('UNAVAILABLE', 'injected: backend unreachable');
