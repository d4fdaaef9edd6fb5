/**
 * `connect(url)`: parse the URL, load the backend's driver package lazily, open a session.
 */
import { CoordError, loadDriver, parseUrl, registerDriver, type Driver, type DriverSettings } from '@coord/core';
import { Coordinator } from './coordinator.js';

/** Options of {@link connect}; they override the URL's query options. */
export interface ConnectOptions extends Partial<DriverSettings> {
  /**
   * Wraps the driver before the coordinator uses it: for tests and benchmarks that count
   * requests or watch firings, or inject faults. Must return a driver with the same contract.
   */
  readonly wrapDriver?: (driver: Driver) => Driver;
}

// The built-in backends. Each is imported only when a URL names it; a package that is not
// installed (or not built yet) makes connect fail with UNSUPPORTED, not a crash.
const importByName = (specifier: string) => (): Promise<unknown> => import(specifier);
registerDriver('memory', () => import('@coord/memory'));
registerDriver('zookeeper', importByName('@coord/zookeeper'));
registerDriver('etcd', importByName('@coord/etcd'));
registerDriver('redis', importByName('@coord/redis'));

/**
 * Connects to a coordination backend and opens a session.
 *
 * @example
 * ```ts
 * await using coord = await connect(process.env.COORD_URL ?? 'memory://');
 * await coord.lock('/stack/42').withLock(async (held) => update(held.token));
 * ```
 * @param url `memory://[name]`, `zookeeper://…`, `etcd[s]://…` or `redis[s]://…` (docs/design.md §1.2)
 * @param options timeouts that override the URL's, and test hooks
 * @throws CoordError `INVALID_URL`, `INVALID_ARGUMENT` (bad options, or a `wrapDriver` that
 *   throws or returns no driver: the session it was given is closed first), `UNSUPPORTED`
 *   (driver not available), `UNAVAILABLE`/`TIMEOUT` (backend unreachable within
 *   `connectTimeout`), `AUTH_FAILED`.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Coordinator> {
  // Every check on the options comes before the session opens: a refusal found afterwards
  // would have to close a session that was never needed.
  const { wrapDriver, ...overrides } = checkOptions(options);
  const config = parseUrl(url, overrides);
  const module = await loadDriver(config.backend);
  const driver = await module.createDriver(config);
  if (wrapDriver === undefined) return new Coordinator(driver, config.redacted);
  return new Coordinator(await wrapped(driver, wrapDriver), config.redacted);
}

/**
 * The options as an object with a `wrapDriver` that is a function or absent.
 * @throws CoordError `INVALID_ARGUMENT` otherwise.
 */
function checkOptions(options: unknown): ConnectOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new CoordError('INVALID_ARGUMENT', `connect: options must be an object, got ${got}`);
  }
  const { wrapDriver } = options as { wrapDriver?: unknown };
  if (wrapDriver !== undefined && typeof wrapDriver !== 'function') {
    throw new CoordError('INVALID_ARGUMENT', `connect: wrapDriver must be a function (driver) => driver, got ${wrapDriver === null ? 'null' : typeof wrapDriver}`);
  }
  return options as ConnectOptions;
}

/**
 * `wrapDriver(driver)`, or — if it throws or returns something that is not a driver — the
 * driver closed (its session would otherwise keep the process alive, with nobody holding
 * it to close) and an `INVALID_ARGUMENT` carrying the hook's error as its cause.
 */
async function wrapped(driver: Driver, wrapDriver: (driver: Driver) => Driver): Promise<Driver> {
  let failure: CoordError;
  try {
    const result: unknown = wrapDriver(driver);
    if (isDriverLike(result)) return result;
    failure = new CoordError('INVALID_ARGUMENT', `connect: wrapDriver returned ${result === null ? 'null' : typeof result}, not a driver`);
  } catch (error) {
    failure = new CoordError('INVALID_ARGUMENT', `connect: wrapDriver threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  // The hook's own error is the one to report; a failing close adds nothing the caller can act on.
  await driver.close().catch(() => undefined);
  throw failure;
}

/** The methods a wrapped driver must have (the coordinator and the recipes call them). */
const DRIVER_METHODS = ['create', 'createSequential', 'get', 'children', 'set', 'delete', 'onSessionState', 'close'] as const;

/** Whether a `wrapDriver` result has every driver method. */
function isDriverLike(value: unknown): value is Driver {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<(typeof DRIVER_METHODS)[number], unknown>>;
  return DRIVER_METHODS.every((method) => typeof candidate[method] === 'function');
}
