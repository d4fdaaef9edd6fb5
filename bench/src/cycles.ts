/**
 * Uncontended acquire+release through the public API: (a) cycles per second and (b) driver
 * requests per cycle.
 */
import { connect, type Lock } from 'coord';
import { CountingDriver, diffCounts, newCounts, REQUEST_METHODS, totalRequests, type RequestMethod } from '@coord/testing';
import { memoryStats } from './store-stats.js';

/** Cycles between two yields to the event loop. */
const YIELD_EVERY = 256;

/** Result of {@link measureThroughput}. */
export interface ThroughputResult {
  readonly cycles: number;
  readonly seconds: number;
  readonly cyclesPerSecond: number;
  readonly microsPerCycle: number;
}

/** Result of {@link measureRequests}. */
export interface RequestsResult {
  readonly cycles: number;
  /** Requests per cycle seen by the counting wrapper. */
  readonly perCycle: number;
  /** The same, per method (methods never called are left out). */
  readonly byMethod: Partial<Record<RequestMethod, number>>;
  /** Requests per cycle the memory store served, or `undefined` on other backends. */
  readonly storePerCycle: number | undefined;
}

/**
 * (a) Acquire+release cycles per second on one lock path, after a warm-up.
 * @example `const { cyclesPerSecond } = await measureThroughput('memory://bench', 3);`
 * @throws CoordError from `connect` or the lock.
 */
export async function measureThroughput(url: string, seconds: number, warmupSeconds = 0.5): Promise<ThroughputResult> {
  await using coord = await connect(url);
  const lock = coord.lock('/bench/throughput');
  await cyclesFor(lock, warmupSeconds * 1000);
  const { cycles, elapsedMs } = await cyclesFor(lock, seconds * 1000);
  return { cycles, seconds: elapsedMs / 1000, cyclesPerSecond: (cycles * 1000) / elapsedMs, microsPerCycle: (elapsedMs * 1000) / cycles };
}

/**
 * (b) Driver requests per uncontended acquire+release, counted by a wrapping driver and, on
 * memory, cross-checked with the store's own request counter.
 * @throws CoordError from `connect` or the lock.
 */
export async function measureRequests(url: string, cycles = 10_000): Promise<RequestsResult> {
  const counts = newCounts();
  await using coord = await connect(url, { wrapDriver: (driver) => new CountingDriver(driver, counts) });
  const lock = coord.lock('/bench/requests');
  await cycleTimes(lock, 100);
  const before = { ...counts };
  const storeBefore = memoryStats(coord.driver)?.requests;
  await cycleTimes(lock, cycles);
  const storeAfter = memoryStats(coord.driver)?.requests;
  const delta = diffCounts(counts, before);
  const byMethod: Partial<Record<RequestMethod, number>> = {};
  for (const method of REQUEST_METHODS) if (delta[method] > 0) byMethod[method] = delta[method] / cycles;
  const storePerCycle = storeBefore === undefined || storeAfter === undefined ? undefined : (storeAfter - storeBefore) / cycles;
  return { cycles, perCycle: totalRequests(delta) / cycles, byMethod, storePerCycle };
}

/** Cycles for at least `ms`, yielding now and then so heartbeats and timers run as in a real process. */
async function cyclesFor(lock: Lock, ms: number): Promise<{ cycles: number; elapsedMs: number }> {
  const start = performance.now();
  let cycles = 0;
  for (;;) {
    await cycleTimes(lock, YIELD_EVERY);
    cycles += YIELD_EVERY;
    const elapsedMs = performance.now() - start;
    if (elapsedMs >= ms) return { cycles, elapsedMs };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function cycleTimes(lock: Lock, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const held = await lock.acquire();
    await held.release();
  }
}
