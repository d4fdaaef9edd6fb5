/**
 * (c) Contended handoff: waiters queue on one lock while one coordinator holds it; then the
 * holder releases and every waiter, once granted, releases at once — a chain of handoffs.
 * Counts wake-ups (watches fired by a change) per release: the lock watches only its
 * immediate predecessor, so each release should wake exactly one waiter (no herd).
 */
import { connect, type Coordinator, type Lease } from 'coord';
import { CountingDriver, diffCounts, eventually, newCounts, totalRequests, type Counts } from '@coord/testing';
import { memoryStats } from './store-stats.js';

/** Options of {@link measureHandoff}. */
export interface HandoffOptions {
  /** Waiters queued behind the holder (default 100). */
  readonly waiters?: number;
  /** Coordinators (sessions) the waiters are spread over, round-robin (default 10). */
  readonly coordinators?: number;
  /** Times the whole queue-and-drain is repeated (default 5). */
  readonly rounds?: number;
}

/** Result of {@link measureHandoff}; rates are over all rounds. */
export interface HandoffResult {
  readonly waiters: number;
  readonly coordinators: number;
  readonly rounds: number;
  /** Grants to a waiter (= releases that had a waiter behind them). */
  readonly handoffs: number;
  /** Watches fired by a change during the drains, as the counting wrapper saw them. */
  readonly wakeups: number;
  readonly wakeupsPerHandoff: number;
  /** Watch firings per handoff the memory store counted, or `undefined` on other backends. */
  readonly storeFiringsPerHandoff: number | undefined;
  readonly requestsPerHandoff: number;
  readonly handoffsPerSecond: number;
}

const QUEUE_DEADLINE_MS = 30_000;

/**
 * Measures contended handoffs. The holder has its own coordinator; the waiters share
 * `coordinators` others. Every coordinator counts into one set of counters.
 * @throws CoordError from `connect` or the lock; `TIMEOUT` if the waiters never all queue.
 */
export async function measureHandoff(url: string, options: HandoffOptions = {}): Promise<HandoffResult> {
  const { waiters = 100, coordinators = 10, rounds = 5 } = options;
  const counts = newCounts();
  const open = (): Promise<Coordinator> => connect(url, { wrapDriver: (driver) => new CountingDriver(driver, counts) });
  const coords = await Promise.all(Array.from({ length: coordinators + 1 }, open));
  try {
    const [holder, ...pool] = coords as [Coordinator, ...Coordinator[]];
    let ms = 0;
    let store: number | undefined = 0;
    const total = newCounts();
    for (let round = 0; round < rounds; round += 1) {
      const result = await oneRound(holder, pool, waiters, counts);
      ms += result.ms;
      store = store === undefined || result.storeFirings === undefined ? undefined : store + result.storeFirings;
      for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += result.delta[key];
    }
    const handoffs = waiters * rounds;
    return {
      waiters,
      coordinators,
      rounds,
      handoffs,
      wakeups: total.wakeups,
      wakeupsPerHandoff: total.wakeups / handoffs,
      storeFiringsPerHandoff: store === undefined ? undefined : store / handoffs,
      requestsPerHandoff: totalRequests(total) / handoffs,
      handoffsPerSecond: (handoffs * 1000) / ms,
    };
  } finally {
    await Promise.all(coords.map((coord) => coord.close()));
  }
}

/** Queues `waiters` behind a held lock, then times the drain. Counts cover the drain only. */
async function oneRound(
  holder: Coordinator,
  pool: readonly Coordinator[],
  waiters: number,
  counts: Counts,
): Promise<{ ms: number; delta: Counts; storeFirings: number | undefined }> {
  const path = '/bench/handoff';
  const held = await holder.lock(path).acquire();
  const armedBefore = counts.watchesArmed;
  const drained = Array.from({ length: waiters }, (_, i) =>
    (pool[i % pool.length] as Coordinator).lock(path).acquire({ timeout: QUEUE_DEADLINE_MS }).then((lease: Lease) => lease.release()),
  );
  // Every waiter is queued once it watches its predecessor.
  await eventually(() => counts.watchesArmed - armedBefore >= waiters, `all ${waiters} bench waiters queued`, QUEUE_DEADLINE_MS, 1).catch((error: unknown) => {
    void Promise.allSettled(drained); // they reject with CLOSED when the caller closes up
    throw error;
  });
  const before = { ...counts };
  const storeBefore = memoryStats(holder.driver)?.watchFirings;
  const start = performance.now();
  await held.release();
  await Promise.all(drained);
  const ms = performance.now() - start;
  await new Promise((resolve) => setImmediate(resolve)); // let the last wake-up counts land
  const storeAfter = memoryStats(holder.driver)?.watchFirings;
  const storeFirings = storeBefore === undefined || storeAfter === undefined ? undefined : storeAfter - storeBefore;
  return { ms, delta: diffCounts(counts, before), storeFirings };
}
