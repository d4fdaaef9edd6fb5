/**
 * (d) Every recipe's cost on its uncontended path, in driver requests per operation, counted
 * by the wrapping driver over many repetitions. These are the figures a backend multiplies by
 * its round-trip time; the "minimum" column is the fewest requests the operation can take
 * against the driver interface (a create to hold, a delete to let go, a read to look).
 */
import { connect, type Coordinator } from 'coord';
import { CountingDriver, diffCounts, newCounts, totalRequests, type Counts } from '@coord/testing';

/** One measured operation. */
export interface RecipeCost {
  /** e.g. `semaphore acquire+release`. */
  readonly operation: string;
  /** Driver requests per operation. */
  readonly requests: number;
  /** The fewest requests it can take. */
  readonly minimum: number;
}

interface Operation {
  readonly name: string;
  readonly minimum: number;
  /** Sets up once (untimed, uncounted); returns the step to repeat. */
  prepare(coord: Coordinator, path: string): Promise<() => Promise<unknown>>;
}

const OPERATIONS: readonly Operation[] = [
  { name: 'lock acquire+release', minimum: 2, prepare: async (c, p) => async () => (await c.lock(p).acquire()).release() },
  { name: 'rwlock read acquire+release', minimum: 2, prepare: async (c, p) => async () => (await c.rwlock(p).read.acquire()).release() },
  { name: 'rwlock write acquire+release', minimum: 2, prepare: async (c, p) => async () => (await c.rwlock(p).write.acquire()).release() },
  {
    name: 'semaphore(3) acquire+release',
    minimum: 2,
    prepare: async (c, p) => async () => (await c.semaphore(p, { permits: 3 }).acquire()).release(),
  },
  {
    name: 'barrier raise+lower',
    minimum: 2,
    prepare: async (c, p) => async () => {
      await c.barrier(p).raise();
      await c.barrier(p).lower();
    },
  },
  { name: 'barrier wait (lowered)', minimum: 1, prepare: async (c, p) => () => c.barrier(p).wait() },
  {
    name: 'double barrier(1) enter+leave',
    minimum: 2,
    prepare: async (c, p) => async () => (await c.doubleBarrier(p, { count: 1 }).enter()).leave(),
  },
  {
    name: 'queue put+take+ack',
    minimum: 4,
    prepare: async (c, p) => async () => {
      const queue = c.queue<number>(p);
      await queue.put(1);
      await (await queue.take()).ack();
    },
  },
  { name: 'election campaign+resign', minimum: 2, prepare: async (c, p) => async () => (await c.election(p).campaign('me')).resign() },
  {
    name: 'election leader()',
    minimum: 2,
    prepare: async (c, p) => {
      await c.election(p).campaign('leader'); // held until the coordinator closes
      return () => c.election(p).leader();
    },
  },
  {
    name: 'group join+leave',
    minimum: 2,
    prepare: async (c) => {
      const group = c.group(`bench-${process.pid}-${Date.now()}`);
      await group.create();
      return async () => (await group.join('member')).leave();
    },
  },
];

/**
 * Measures every recipe's uncontended operation `repeat` times on a fresh coordinator.
 * @example `for (const cost of await measureRecipes('memory://bench')) console.log(cost);`
 * @throws CoordError from `connect` or a recipe.
 */
export async function measureRecipes(url: string, repeat = 200): Promise<RecipeCost[]> {
  const counts = newCounts();
  await using coord = await connect(url, { wrapDriver: (driver) => new CountingDriver(driver, counts) });
  const costs: RecipeCost[] = [];
  for (const [index, operation] of OPERATIONS.entries()) {
    const step = await operation.prepare(coord, `/bench/recipes/${index}`);
    await step(); // warm-up: first-use paths (directories, caches) are not the steady state
    const before: Counts = { ...counts };
    for (let i = 0; i < repeat; i += 1) await step();
    costs.push({ operation: operation.name, requests: totalRequests(diffCounts(counts, before)) / repeat, minimum: operation.minimum });
  }
  return costs;
}
