/**
 * `@coord/redis`: the Redis driver (`redis://` and `rediss://` URLs), on `ioredis` with Lua
 * scripts. See the package README for what it guarantees and what it cannot.
 *
 * @example
 * ```ts
 * import { connect } from 'coord';
 * const coord = await connect('redis://:secret@127.0.0.1:6379/0?prefix=app');
 * ```
 */
import type { ConnectionConfig } from '@coord/core';
import { RedisDriver, type RedisDriverOptions } from './driver.js';

export { RedisDriver, recheckInterval, type RedisDriverOptions } from './driver.js';
export { classify, toCoordError, type Classified, type Outcome } from './errors.js';
export { MIN_VERSION, mayEvict, parseMajorVersion, parseMemoryInfo, type EvictionCheck, type MemoryPolicy } from './server-check.js';
export { Layout, DEFAULT_PREFIX, parseChange, type Change, type ChangeKind } from './layout.js';

/**
 * Opens a Redis driver for a parsed `redis://` / `rediss://` URL (what `connect` calls).
 * @throws CoordError `AUTH_FAILED`, `UNAVAILABLE`, `TIMEOUT`.
 */
export function createDriver(config: ConnectionConfig, options: RedisDriverOptions = {}): Promise<RedisDriver> {
  return RedisDriver.open(config, options);
}
