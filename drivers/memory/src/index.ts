/**
 * `@coord/memory`: the in-process reference driver. `memory://name` selects a store shared
 * by every coordinator of the process that names it (`memory://` is the store `default`).
 *
 * @example
 * ```ts
 * const coord = await connect('memory://tests?sessionTimeout=2000');
 * ```
 */
import type { ConnectionConfig } from '@coord/core';
import { MemoryDriver } from './driver.js';
import { storeNamed } from './store.js';

export { MemoryDriver } from './driver.js';
export { MemoryStore, storeNamed, type StoreStats, type Watcher } from './store.js';

/** Opens a memory driver for a parsed `memory://` URL. */
export async function createDriver(config: ConnectionConfig): Promise<MemoryDriver> {
  return new MemoryDriver(storeNamed(config.options.storeName ?? 'default'), config.settings);
}
