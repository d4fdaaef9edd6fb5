/**
 * The lock recipe: mutual exclusion, FIFO, deadlines, fencing tokens, session loss, no herd.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator, Lease } from 'coord';
import { canLoseSession, type DriverFixture, type SessionLoss } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually, rejectionCode } from '../util.js';

/** Registers the lock cases. */
export function lockCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const withLoss = (how: SessionLoss) => (canLoseSession(fixture, how) ? it : it.skip);
  const queueLength = async (coord: Coordinator, path: string): Promise<number> => (await coord.driver.children(path)).nodes.length;

  describe('lock', () => {
    it('excludes: 20 concurrent contenders never overlap', async () => {
      const t = context();
      const coords = await t.openMany(20);
      const path = t.path('lock');
      let inside = 0;
      let maxInside = 0;
      let entries = 0;
      await Promise.all(
        coords.map(async (coord) => {
          for (let round = 0; round < 3; round += 1) {
            await coord.lock(path).withLock(async () => {
              inside += 1;
              entries += 1;
              maxInside = Math.max(maxInside, inside);
              await delay(Math.random() * 3);
              inside -= 1;
            }, { timeout: 20_000 });
          }
        }),
      );
      expect(maxInside).toBe(1);
      expect(entries).toBe(60);
      expect(await queueLength(coords[0]!, path)).toBe(0);
    });

    it('grants in FIFO order', async () => {
      const t = context();
      const coords = await t.openMany(6);
      const path = t.path('lock');
      const holder = await coords[0]!.lock(path).acquire();
      const granted: number[] = [];
      const waiters: Promise<void>[] = [];
      for (let i = 1; i < coords.length; i += 1) {
        waiters.push(
          coords[i]!.lock(path).withLock(() => {
            granted.push(i);
          }),
        );
        await eventually(async () => (await queueLength(coords[0]!, path)) === i + 1, `waiter ${i} queued`);
      }
      await holder.release();
      await Promise.all(waiters);
      expect(granted).toEqual([1, 2, 3, 4, 5]);
    });

    it('queues a second acquire from the same coordinator (not re-entrant)', async () => {
      const t = context();
      const coord = await t.open();
      const lock = coord.lock(t.path('lock'));
      const first = await lock.acquire();
      expect(await lock.tryAcquire()).toBeUndefined();
      const second = lock.acquire({ timeout: 10_000 });
      await delay(20);
      await first.release();
      const held = await second;
      expect(held.token > first.token).toBe(true);
      await held.release();
    });

    it('times out with TIMEOUT and leaves no node behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const started = performance.now();
      expect(await rejectionCode(b!.lock(path).acquire({ timeout: 150 }))).toBe('TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(await queueLength(a!, path)).toBe(1);
      await held.release();
      expect(await queueLength(a!, path)).toBe(0);
    });

    it('aborts with ABORTED (before or during the wait) and leaves no node behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const controller = new AbortController();
      const waiting = b!.lock(path).acquire({ signal: controller.signal });
      await eventually(async () => (await queueLength(a!, path)) === 2, 'waiter queued');
      controller.abort(new Error('user gave up'));
      expect(await rejectionCode(waiting)).toBe('ABORTED');
      expect(await queueLength(a!, path)).toBe(1);
      expect(await rejectionCode(b!.lock(path).acquire({ signal: controller.signal }))).toBe('ABORTED');
      expect(await queueLength(a!, path)).toBe(1);
      await held.release();
    });

    it('tryAcquire returns undefined at once on a held lock, and the lock when free', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).tryAcquire();
      expect(held).toBeDefined();
      expect(await b!.lock(path).tryAcquire()).toBeUndefined();
      expect(await queueLength(a!, path)).toBe(1);
      await held!.release();
      const next = await b!.lock(path).tryAcquire();
      expect(next!.token > held!.token).toBe(true);
      await next!.release();
    });

    it('makes release idempotent, and aborts the signal on release', async () => {
      const t = context();
      const coord = await t.open();
      const held = await coord.lock(t.path('lock')).acquire();
      const signal = held.signal;
      await Promise.all([held.release(), held.release()]);
      await held.release();
      expect(held.released).toBe(true);
      expect(signal.aborted).toBe(true);
    });

    it('hands out strictly increasing fencing tokens across 100 holders', async () => {
      const t = context();
      const coords = await t.openMany(3);
      const path = t.path('lock');
      let last = 0n;
      for (let i = 0; i < 100; i += 1) {
        const held = await coords[i % coords.length]!.lock(path).acquire({ timeout: 5_000 });
        expect(held.token > last).toBe(true);
        last = held.token;
        await held.release();
      }
    });

    it('releases at the end of an `await using` block, even when it throws', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('lock');
      let escaped: Lease | undefined;
      await expect(
        (async () => {
          await using held = await coord.lock(path).acquire();
          escaped = held;
          throw new Error('update failed');
        })(),
      ).rejects.toThrow('update failed');
      expect(escaped?.released).toBe(true);
      expect(await queueLength(coord, path)).toBe(0);
      const result = await coord.lock(path).withLock(async (held) => held.token);
      expect(typeof result).toBe('bigint');
      await expect(coord.lock(path).withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await queueLength(coord, path)).toBe(0);
    });

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const t = context();
      const coord = await t.open();
      expect(await errorCode(() => coord.lock('no-slash'))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.lock('/a//b'))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.lock(t.path('l')).acquire({ timeout: -1 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.lock(t.path('l')).acquire({ timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    });

    it('no herd: with 50 waiters, each release wakes exactly one waiter', async () => {
      const t = context();
      const coords = await t.openMany(10);
      const path = t.path('lock');
      const holder = await coords[0]!.lock(path).acquire();
      const order: number[] = [];
      const waiters: Promise<void>[] = [];
      for (let i = 0; i < 50; i += 1) {
        waiters.push(coords[i % 10]!.lock(path).withLock(() => void order.push(i), { timeout: 30_000 }));
      }
      // Every waiter queued *and* watching its predecessor: a waiter still between its listing
      // and its watch would find its predecessor gone and need no wake-up at all.
      await eventually(async () => (await queueLength(coords[0]!, path)) === 51 && t.watching(coords) === 50, '50 waiters queued and watching');
      const before = t.wakeUps(coords);
      await holder.release();
      await Promise.all(waiters);
      expect(t.wakeUps(coords) - before).toBe(50);
      expect(order).toHaveLength(50);
    });

    it('a coordinator that closes releases its locks and fails its pending acquires with CLOSED', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const signal = held.signal;
      const bWaits = b!.lock(path).acquire({ timeout: 10_000 });
      const cWaits = c!.lock(path).acquire({ timeout: 10_000 });
      await eventually(async () => (await queueLength(b!, path)) === 3, 'waiters queued');
      await c!.close();
      expect(await rejectionCode(cWaits)).toBe('CLOSED');
      await a!.close();
      expect(signal.aborted).toBe(true);
      expect((signal.reason as { code?: string }).code).toBe('CLOSED');
      await held.release(); // after loss: no throw
      const next = await bWaits;
      expect(next.token > held.token).toBe(true);
      await next.release();
      expect(await errorCode(() => a!.lock(path))).toBe('CLOSED');
    });

    it("aborts the holder's signal when someone else deletes its node", async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const signal = held.signal;
      await delay(10);
      const [node] = (await b!.driver.children(path)).nodes;
      await b!.driver.delete(node!.path);
      await eventually(() => signal.aborted, 'holder signal aborted');
      expect((signal.reason as { code?: string }).code).toBe('LOST');
      await held.release();
    });

    for (const hook of ['expireSession', 'stopRenewing'] as const) {
      withLoss(hook)(`holder session lost (${hook}): its signal aborts before the next waiter is granted`, async () => {
        const t = context();
        const a = await t.open({ sessionTimeout: 1_000 });
        const b = await t.open({ sessionTimeout: 1_000 });
        const path = t.path('lock');
        const held = await a.lock(path).acquire();
        const events: string[] = [];
        held.signal.addEventListener('abort', () => events.push('holder aborted'));
        const next = b.lock(path).acquire({ timeout: 20_000 }).then((lease) => {
          events.push('waiter granted');
          return lease;
        });
        await eventually(async () => (await queueLength(b, path)) === 2, 'waiter queued');
        await t.loseSession(hook, a);
        const lease = await next;
        expect(events).toEqual(['holder aborted', 'waiter granted']);
        expect((held.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
        expect(lease.token > held.token).toBe(true);
        await held.release(); // after loss: no throw
        await lease.release();
        // The coordinator carries on with a fresh session.
        await eventually(() => a.session.state === 'connected', 'fresh session');
        const again = await a.lock(path).acquire({ timeout: 5_000 });
        expect(again.token > lease.token).toBe(true);
        await again.release();
      });
    }

    withHook('expireSession')('under random timeouts, aborts and session expiries, no two live holders ever overlap', async () => {
      const t = context();
      const coords = await t.openMany(8);
      const path = t.path('lock');
      const live = new Set<Lease>();
      const overlaps: string[] = [];
      let grants = 0;
      const worker = async (coord: Coordinator, index: number): Promise<void> => {
        for (let round = 0; round < 12; round += 1) {
          const controller = new AbortController();
          if (Math.random() < 0.15) setTimeout(() => controller.abort(), Math.random() * 10);
          let held: Lease;
          try {
            held = await coord.lock(path).acquire({ timeout: 5 + Math.random() * 40, signal: controller.signal });
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'TIMEOUT' && code !== 'ABORTED' && code !== 'SESSION_EXPIRED') throw error;
            continue;
          }
          grants += 1;
          for (const other of live) if (!other.signal.aborted) overlaps.push(`coordinator ${index} granted while token ${other.token} is live`);
          live.add(held);
          if (Math.random() < 0.1) await t.expireSession(coord);
          await delay(Math.random() * 3);
          live.delete(held);
          await held.release();
        }
      };
      await Promise.all(coords.map(worker));
      expect(overlaps).toEqual([]);
      expect(grants).toBeGreaterThan(0);
      // A holder whose session expired left its node to the server, which removes it once it
      // too has expired the session (a little after the holder's own deadline).
      await eventually(async () => (await queueLength(coords[0]!, path)) === 0, 'expired holders\' nodes gone', 20_000);
    });

    withHook('expireSession')('a waiter whose session expires rejects and leaves nothing', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const waiting = b!.lock(path).acquire({ timeout: 20_000 });
      await eventually(async () => (await queueLength(a!, path)) === 2, 'waiter queued');
      await t.expireSession(b!);
      expect(await rejectionCode(waiting)).toBe('SESSION_EXPIRED');
      await eventually(async () => (await queueLength(a!, path)) === 1, 'waiter node gone');
      await held.release();
    });
  });
}
