/**
 * The semaphore recipe: at most `permits` holders, permits returned by dead sessions, one
 * watcher of the permits at a time, permit-count conflicts, deadlines, requests counted.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator, Lease, Semaphore } from 'coord';
import { diffCounts, totalRequests } from '@coord/testing';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { background, delay, errorCode, eventually, rejectionCode } from '../util.js';

/** Registers the semaphore cases. */
export function semaphoreCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const count = async (coord: Coordinator, dir: string): Promise<number> => (await coord.driver.children(dir)).nodes.length;
  /** Lease nodes and internal-lock nodes of the semaphore at `path`. */
  const nodes = async (coord: Coordinator, path: string): Promise<{ leases: number; locks: number }> => ({
    leases: await count(coord, `${path}/leases`),
    locks: await count(coord, `${path}/locks`),
  });
  /**
   * Waits for both counts at once. A lease count alone can be met by a waiter's fast-path
   * node, which goes again before the waiter queues on the internal lock (over a network
   * that window is wide enough to see).
   */
  const untilNodes = (coord: Coordinator, path: string, want: { leases: number; locks: number }, what: string): Promise<void> =>
    eventually(async () => {
      const now = await nodes(coord, path);
      return now.leases === want.leases && now.locks === want.locks;
    }, what);
  const holdAll = (sems: Semaphore[]): Promise<Lease[]> => Promise.all(sems.map((sem) => sem.acquire({ timeout: 5_000 })));

  describe('semaphore', () => {
    it('admits up to `permits` holders; an uncontended acquire and release is one create and one delete', async () => {
      const t = context();
      const coord = await t.open();
      const sem = coord.semaphore(t.path('sem'), { permits: 2 });
      expect(sem.permits).toBe(2);
      const counts = t.counting(coord).counts;
      const before = { ...counts };
      const first = await sem.acquire({ timeout: 5_000 });
      await first.release();
      const used = diffCounts(counts, before);
      expect(used.createSequential).toBe(1);
      expect(used.delete).toBe(1);
      expect(totalRequests(used)).toBe(2);
      const [a, b] = await holdAll([sem, sem]);
      expect(await sem.tryAcquire()).toBeUndefined();
      expect(b!.token > a!.token).toBe(true);
      expect(a!.token > first.token).toBe(true);
      await Promise.all([a!.release(), b!.release()]);
      expect(await nodes(coord, sem.path)).toEqual({ leases: 0, locks: 0 });
    });

    it('semaphore(3) with 20 contenders never has more than 3 holders, and lets everyone in', async () => {
      const t = context();
      const coords = await t.openMany(20);
      const path = t.path('sem');
      let inside = 0;
      let maxInside = 0;
      const entered = new Set<number>();
      let entries = 0;
      await Promise.all(
        coords.map(async (coord, index) => {
          for (let round = 0; round < 3; round += 1) {
            await coord.semaphore(path, { permits: 3 }).withLock(async () => {
              inside += 1;
              entries += 1;
              entered.add(index);
              maxInside = Math.max(maxInside, inside);
              await delay(1 + Math.random() * 4);
              inside -= 1;
            }, { timeout: 30_000 });
          }
        }),
      );
      expect(maxInside).toBeLessThanOrEqual(3);
      expect(maxInside).toBeGreaterThan(0);
      expect(entries).toBe(60);
      expect(entered.size).toBe(20);
      expect(await nodes(coords[0]!, path)).toEqual({ leases: 0, locks: 0 });
    });

    it('tryAcquire returns undefined when full (leaving nothing), and a permit once one is free', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('sem');
      const held = await holdAll([a!.semaphore(path, { permits: 2 }), a!.semaphore(path, { permits: 2 })]);
      expect(await b!.semaphore(path, { permits: 2 }).tryAcquire()).toBeUndefined();
      expect(await nodes(a!, path)).toEqual({ leases: 2, locks: 0 });
      await held[0]!.release();
      const next = await b!.semaphore(path, { permits: 2 }).tryAcquire();
      expect(next).toBeDefined();
      expect(next!.token > held[1]!.token).toBe(true);
      await Promise.all([held[1]!.release(), next!.release()]);
    });

    it('grants waiters in FIFO order as permits come back', async () => {
      const t = context();
      const coords = await t.openMany(6);
      const path = t.path('sem');
      const sem = (i: number): Semaphore => coords[i]!.semaphore(path, { permits: 2 });
      const held = await holdAll([sem(0), sem(0)]);
      const granted: number[] = [];
      const waiters: Promise<Lease>[] = [];
      for (let i = 1; i <= 4; i += 1) {
        waiters.push(background(sem(i).acquire({ timeout: 20_000 }).then((lease) => (granted.push(i), lease))));
        // Waiter 1 holds the internal lock with a lease node; the others queue on the lock.
        await eventually(async () => (await nodes(coords[0]!, path)).locks === i, `waiter ${i} queued`);
      }
      await held[0]!.release();
      await eventually(() => granted.length === 1, 'first waiter granted');
      await held[1]!.release();
      await eventually(() => granted.length === 2, 'second waiter granted');
      const leases = await Promise.all(waiters.slice(0, 2));
      for (const lease of leases) await lease.release();
      const rest = await Promise.all(waiters.slice(2));
      expect(granted).toEqual([1, 2, 3, 4]);
      for (const lease of rest) await lease.release();
      expect(await nodes(coords[0]!, path)).toEqual({ leases: 0, locks: 0 });
    });

    it('no herd: only one waiter watches the permits; a release wakes it and one lock successor', async () => {
      const t = context();
      const coords = await t.openMany(11);
      const path = t.path('sem');
      const sem = (i: number): Semaphore => coords[i]!.semaphore(path, { permits: 2 });
      const holders = await holdAll([sem(0), sem(0)]);
      const granted: Lease[] = [];
      const waiters: Promise<void>[] = [];
      for (let i = 1; i <= 10; i += 1) {
        waiters.push(background(sem(i).acquire({ timeout: 30_000 }).then((lease) => void granted.push(lease))));
      }
      const settled = async (leases: number, locks: number, what: string): Promise<void> =>
        eventually(async () => {
          const now = await nodes(coords[0]!, path);
          return now.leases === leases && now.locks === locks;
        }, what);
      // Two holders, the lock holder's waiting lease node; ten internal-lock nodes.
      await settled(3, 10, 'ten waiters queued');
      // Watches armed minus watches fired = live watches + admissions so far (an admitted
      // waiter cancels the watch it armed with the read that admitted it): ten whenever every
      // remaining waiter watches — at first nine lock predecessors and the permit watcher.
      const armed = (): number => coords.reduce((sum, coord) => sum + t.counting(coord).counts.watchesArmed, 0);
      const everyoneWatching = (): Promise<void> => eventually(() => armed() - t.wakeUps(coords) === 10, 'every waiter watches');
      await everyoneWatching();
      const perRelease: number[] = [];
      const toRelease = [...holders];
      for (let round = 1; round <= 10; round += 1) {
        const before = t.wakeUps(coords);
        await toRelease.shift()!.release();
        await eventually(() => granted.length === round, `waiter ${round} granted`);
        // Until the last waiter: a new lock holder has put its lease node in and watches.
        await settled(round < 10 ? 3 : 2, 10 - round, `hand-off ${round} done`);
        await everyoneWatching();
        await delay(20);
        perRelease.push(t.wakeUps(coords) - before);
        toRelease.push(granted[round - 1]!);
      }
      // Each release wakes the one permit watcher; each hand-off of the internal lock wakes
      // its one successor (none after the last waiter). A herd would wake all ten.
      expect(perRelease).toEqual([...Array.from({ length: 9 }, () => 2), 1]);
      await Promise.all(waiters);
      for (const lease of toRelease) await lease.release();
      expect(await nodes(coords[0]!, path)).toEqual({ leases: 0, locks: 0 });
    });

    it('rejects a client that disagrees on permits with CONFLICT, leaving nothing behind', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('sem');
      const held = await a!.semaphore(path, { permits: 3 }).acquire();
      expect(await rejectionCode(b!.semaphore(path, { permits: 4 }).acquire({ timeout: 5_000 }))).toBe('CONFLICT');
      expect(await rejectionCode(b!.semaphore(path, { permits: 2 }).tryAcquire())).toBe('CONFLICT');
      expect(await nodes(a!, path)).toEqual({ leases: 1, locks: 0 });
      // Also while others wait: the conflicting client leaves the queue as it found it.
      const one = c!.semaphore(`${path}-full`, { permits: 1 });
      const full = await one.acquire();
      const waiting = background(a!.semaphore(`${path}-full`, { permits: 1 }).acquire({ timeout: 20_000 }));
      // Both counts: a lease count of 2 alone may be the waiter's fast-path node, about to go.
      await untilNodes(a!, `${path}-full`, { leases: 2, locks: 1 }, 'waiter watches the permits');
      expect(await rejectionCode(b!.semaphore(`${path}-full`, { permits: 5 }).acquire({ timeout: 5_000 }))).toBe('CONFLICT');
      expect(await nodes(a!, `${path}-full`)).toEqual({ leases: 2, locks: 1 });
      await full.release();
      const next = await waiting;
      await Promise.all([next.release(), held.release()]);
      expect(await nodes(a!, `${path}-full`)).toEqual({ leases: 0, locks: 0 });
      // Once nobody holds, another count may start afresh.
      const fresh = await b!.semaphore(path, { permits: 4 }).acquire();
      await fresh.release();
    });

    it('times out or aborts with nothing left behind, in the lock queue or watching the permits', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('sem');
      const held = await a!.semaphore(path, { permits: 1 }).acquire();
      const started = performance.now();
      expect(await rejectionCode(b!.semaphore(path, { permits: 1 }).acquire({ timeout: 150 }))).toBe('TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(await nodes(a!, path)).toEqual({ leases: 1, locks: 0 });
      const controller = new AbortController();
      // b holds the internal lock and watches the permits; c waits on the internal lock.
      const watching = background(b!.semaphore(path, { permits: 1 }).acquire({ timeout: 30_000 }));
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'b watches the permits');
      const queued = background(c!.semaphore(path, { permits: 1 }).acquire({ signal: controller.signal }));
      await eventually(async () => (await nodes(a!, path)).locks === 2, 'c queued on the lock');
      controller.abort(new Error('gave up'));
      expect(await rejectionCode(queued)).toBe('ABORTED');
      expect(await nodes(a!, path)).toEqual({ leases: 2, locks: 1 });
      const late = background(c!.semaphore(path, { permits: 1 }).acquire({ timeout: 100 }));
      expect(await rejectionCode(late)).toBe('TIMEOUT');
      expect(await rejectionCode(c!.semaphore(path, { permits: 1 }).acquire({ signal: controller.signal }))).toBe('ABORTED');
      expect(await nodes(a!, path)).toEqual({ leases: 2, locks: 1 });
      await held.release();
      const next = await watching;
      expect(next.token > held.token).toBe(true);
      await next.release();
      expect(await nodes(a!, path)).toEqual({ leases: 0, locks: 0 });
    });

    it('a waiter that gives up while watching the permits passes its place on', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('sem');
      const held = await a!.semaphore(path, { permits: 1 }).acquire();
      const controller = new AbortController();
      const first = background(b!.semaphore(path, { permits: 1 }).acquire({ signal: controller.signal }));
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'b watches the permits');
      const second = background(c!.semaphore(path, { permits: 1 }).acquire({ timeout: 20_000 }));
      await eventually(async () => (await nodes(a!, path)).locks === 2, 'c queued');
      controller.abort();
      expect(await rejectionCode(first)).toBe('ABORTED');
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'c watches the permits');
      await held.release();
      const lease = await second;
      await lease.release();
      expect(await nodes(a!, path)).toEqual({ leases: 0, locks: 0 });
    });

    it('hands out strictly increasing fencing tokens across holders', async () => {
      const t = context();
      const coords = await t.openMany(3);
      const path = t.path('sem');
      let last = 0n;
      for (let i = 0; i < 60; i += 1) {
        const held = await coords[i % 3]!.semaphore(path, { permits: 2 }).acquire({ timeout: 5_000 });
        expect(held.token > last).toBe(true);
        last = held.token;
        await held.release();
      }
    });

    it('releases at the end of an `await using` block, even when it throws; release is idempotent', async () => {
      const t = context();
      const coord = await t.open();
      const sem = coord.semaphore(t.path('sem'), { permits: 1 });
      let escaped: Lease | undefined;
      await expect(
        (async () => {
          await using held = await sem.acquire();
          escaped = held;
          throw new Error('render failed');
        })(),
      ).rejects.toThrow('render failed');
      expect(escaped?.released).toBe(true);
      expect(escaped?.signal.aborted).toBe(true);
      await escaped?.release();
      await expect(sem.withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await sem.withLock(async (held) => typeof held.token)).toBe('bigint');
      expect(await nodes(coord, sem.path)).toEqual({ leases: 0, locks: 0 });
    });

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const t = context();
      const coord = await t.open();
      for (const permits of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '3', undefined]) {
        expect(await errorCode(() => coord.semaphore(t.path('sem'), { permits } as { permits: number }))).toBe('INVALID_ARGUMENT');
      }
      expect(await errorCode(() => coord.semaphore('sem', { permits: 1 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.semaphore(t.path('sem'), { permits: 1 }).acquire({ timeout: -1 }))).toBe('INVALID_ARGUMENT');
    });

    it('a coordinator that closes returns its permits and fails its pending acquires with CLOSED', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('sem');
      const held = await a!.semaphore(path, { permits: 1 }).acquire();
      const signal = held.signal;
      const bWaits = background(b!.semaphore(path, { permits: 1 }).acquire({ timeout: 20_000 }));
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'b watches the permits');
      const cWaits = background(c!.semaphore(path, { permits: 1 }).acquire({ timeout: 20_000 }));
      await eventually(async () => (await nodes(a!, path)).locks === 2, 'c queued');
      await c!.close();
      expect(await rejectionCode(cWaits)).toBe('CLOSED');
      await a!.close();
      expect((signal.reason as { code?: string }).code).toBe('CLOSED');
      const next = await bWaits;
      expect(next.token > held.token).toBe(true);
      await held.release(); // after loss: no throw
      await next.release();
      expect(await nodes(b!, path)).toEqual({ leases: 0, locks: 0 });
    });

    withHook('expireSession')("a dead holder's permit comes back: its signal aborts, then the waiter is granted", async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3, { sessionTimeout: 1_000 });
      const path = t.path('sem');
      const dying = await a!.semaphore(path, { permits: 2 }).acquire();
      const staying = await b!.semaphore(path, { permits: 2 }).acquire();
      const events: string[] = [];
      dying.signal.addEventListener('abort', () => events.push('holder aborted'));
      const next = background(
        c!.semaphore(path, { permits: 2 }).acquire({ timeout: 20_000 }).then((lease) => {
          events.push('waiter granted');
          return lease;
        }),
      );
      await untilNodes(c!, path, { leases: 3, locks: 1 }, 'waiter watches the permits');
      await t.expireSession(a!);
      const lease = await next;
      expect(events).toEqual(['holder aborted', 'waiter granted']);
      expect((dying.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
      expect(staying.signal.aborted).toBe(false);
      expect(lease.token > dying.token).toBe(true);
      await dying.release(); // after loss: no throw
      await Promise.all([lease.release(), staying.release()]);
      await eventually(() => a!.session.state === 'connected', 'fresh session');
      const again = await a!.semaphore(path, { permits: 2 }).acquire({ timeout: 5_000 });
      await again.release();
      expect(await nodes(c!, path)).toEqual({ leases: 0, locks: 0 });
    });

    withHook('expireSession')('a waiter whose session expires rejects and leaves nothing', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('sem');
      const held = await a!.semaphore(path, { permits: 1 }).acquire();
      const watching = background(b!.semaphore(path, { permits: 1 }).acquire({ timeout: 20_000 }));
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'b watches the permits');
      const queued = background(c!.semaphore(path, { permits: 1 }).acquire({ timeout: 20_000 }));
      await eventually(async () => (await nodes(a!, path)).locks === 2, 'c queued');
      await t.expireSession(b!);
      expect(await rejectionCode(watching)).toBe('SESSION_EXPIRED');
      // c takes over the internal lock and watches the permits in b's place.
      await untilNodes(a!, path, { leases: 2, locks: 1 }, 'c watches the permits');
      await held.release();
      const lease = await queued;
      await lease.release();
      expect(await nodes(a!, path)).toEqual({ leases: 0, locks: 0 });
    });
  });
}
