/**
 * The memory store's own counters, as an independent cross-check of {@link CountingDriver}:
 * the wrapper counts what recipes ask for, the store counts what it served.
 */
import type { Driver } from '@coord/core';
import type { MemoryDriver, StoreStats } from '@coord/memory';
import { CountingDriver } from '@coord/testing';

/**
 * The store counters behind `driver` if it is (or wraps) a memory driver, else `undefined`.
 * @example `const before = memoryStats(coord.driver)?.requests;`
 */
export function memoryStats(driver: Driver): StoreStats | undefined {
  const inner = driver instanceof CountingDriver ? driver.inner : driver;
  // Duck-typed so a non-memory run never loads @coord/memory.
  if (inner.name !== 'memory') return undefined;
  return (inner as Partial<MemoryDriver>).store?.stats();
}
