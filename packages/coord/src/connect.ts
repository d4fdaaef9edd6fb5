/**
 * `connect(url)`: parse the URL, load the backend's driver package lazily, open a session.
 */
import { loadDriver, parseUrl, registerDriver, type Driver, type DriverSettings } from '@coord/core';
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
 * @throws CoordError `INVALID_URL`, `INVALID_ARGUMENT`, `UNSUPPORTED` (driver not
 *   available), `UNAVAILABLE`/`TIMEOUT` (backend unreachable within `connectTimeout`),
 *   `AUTH_FAILED`.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Coordinator> {
  const { wrapDriver, ...overrides } = options;
  const config = parseUrl(url, overrides);
  const module = await loadDriver(config.backend);
  const driver = await module.createDriver(config);
  return new Coordinator(wrapDriver === undefined ? driver : wrapDriver(driver), config.redacted);
}
