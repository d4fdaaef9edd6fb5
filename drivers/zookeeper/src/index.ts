/**
 * `@coord/zookeeper`: the Coord driver for Apache ZooKeeper, on the `zookeeper` npm package
 * (the official C client in a Node addon). `coord`'s `connect()` loads it lazily for
 * `zookeeper://` URLs.
 *
 * @example
 * ```ts
 * const coord = await connect('zookeeper://h1:2181,h2:2181/app?sessionTimeout=10000');
 * ```
 */
import type { ConnectionConfig } from '@coord/core';
import { ZooKeeperDriver } from './driver.js';

export { ZooKeeperDriver } from './driver.js';
export { toCoordError, type ErrorContext } from './errors.js';

/**
 * Opens a ZooKeeper driver (and its first session) for a parsed `zookeeper://` URL, within
 * `config.settings.connectTimeout`.
 * @throws CoordError `UNAVAILABLE` when no server answers in time; `AUTH_FAILED` when the
 *   credentials may not read the namespace.
 */
export function createDriver(config: ConnectionConfig): Promise<ZooKeeperDriver> {
  return ZooKeeperDriver.connect(config);
}
