/**
 * The read-write lock recipe: shared readers, exclusive writers, FIFO without writer
 * starvation, wake-ups only for the waiters a release unblocks, deadlines, session loss.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator, Lease, Lock } from 'coord';
import { diffCounts, totalRequests } from '@coord/testing';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { background, delay, errorCode, eventually, rejectionCode } from '../util.js';

/** A pending acquire whose grant can be observed without awaiting it. */
interface Pending {
  readonly lease: Promise<Lease>;
  granted: boolean;
}

function pending(lock: Lock, timeout = 20_000): Pending {
  const entry: Pending = {
    lease: background(
      lock.acquire({ timeout }).then((lease) => {
        entry.granted = true;
        return lease;
      }),
    ),
    granted: false,
  };
  return entry;
}

/** Registers the read-write lock cases. */
export function rwlockCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const queueLength = async (coord: Coordinator, path: string): Promise<number> => (await coord.driver.children(path)).nodes.length;
  /** Starts an acquire and waits until its node is in the queue (so queue order is known). */
  const enqueue = async (lock: Lock, observer: Coordinator, expected: number): Promise<Pending> => {
    const entry = pending(lock);
    await eventually(async () => (await queueLength(observer, lock.path)) === expected, `${expected} nodes queued`);
    return entry;
  };

  describe('rwlock', () => {
    it('reads and writes uncontended with one create and one delete each', async () => {
      const t = context();
      const coord = await t.open();
      const rw = coord.rwlock(t.path('rw'));
      const counts = t.counting(coord).counts;
      for (const side of [rw.read, rw.write]) {
        const before = { ...counts };
        const held = await side.acquire({ timeout: 5_000 });
        await held.release();
        const used = diffCounts(counts, before);
        expect(used.createSequential).toBe(1);
        expect(used.delete).toBe(1);
        expect(totalRequests(used)).toBe(2);
      }
      expect(await queueLength(coord, rw.path)).toBe(0);
    });

    it('lets two readers hold at once; tryAcquire of read succeeds while only readers hold', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('rw');
      const first = await a!.rwlock(path).read.acquire({ timeout: 5_000 });
      const second = await b!.rwlock(path).read.acquire({ timeout: 5_000 });
      const third = await c!.rwlock(path).read.tryAcquire();
      expect(third).toBeDefined();
      expect(await c!.rwlock(path).write.tryAcquire()).toBeUndefined();
      expect(second.token > first.token).toBe(true);
      expect(third!.token > second.token).toBe(true);
      for (const held of [first, second, third!]) expect(held.signal.aborted).toBe(false);
      await Promise.all([first.release(), second.release(), third!.release()]);
      expect(await queueLength(a!, path)).toBe(0);
    });

    it('a writer excludes readers and writers until it releases', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('rw');
      const writer = await a!.rwlock(path).write.acquire();
      expect(await b!.rwlock(path).read.tryAcquire()).toBeUndefined();
      expect(await b!.rwlock(path).write.tryAcquire()).toBeUndefined();
      const reader = await enqueue(b!.rwlock(path).read, a!, 2);
      const writer2 = await enqueue(c!.rwlock(path).write, a!, 3);
      await delay(30);
      expect(reader.granted).toBe(false);
      expect(writer2.granted).toBe(false);
      await writer.release();
      const read = await reader.lease;
      expect(read.token > writer.token).toBe(true);
      await delay(30);
      expect(writer2.granted).toBe(false); // the reader ahead of it still holds
      await read.release();
      const write = await writer2.lease;
      expect(write.token > read.token).toBe(true);
      await write.release();
      expect(await queueLength(a!, path)).toBe(0);
    });

    it('20 readers and 3 writers never overlap a writer with anyone', async () => {
      const t = context();
      const coords = await t.openMany(23);
      const path = t.path('rw');
      let readers = 0;
      let writers = 0;
      const violations: string[] = [];
      const entries = { read: 0, write: 0 };
      const worker = async (coord: Coordinator, index: number): Promise<void> => {
        const writing = index < 3;
        const lock = writing ? coord.rwlock(path).write : coord.rwlock(path).read;
        for (let round = 0; round < 4; round += 1) {
          await lock.withLock(async () => {
            if (writing) {
              if (readers > 0 || writers > 0) violations.push(`writer ${index} entered with ${readers} readers, ${writers} writers`);
              writers += 1;
              entries.write += 1;
            } else {
              if (writers > 0) violations.push(`reader ${index} entered with ${writers} writers`);
              readers += 1;
              entries.read += 1;
            }
            await delay(Math.random() * 4);
            if (writing) writers -= 1;
            else readers -= 1;
          }, { timeout: 30_000 });
        }
      };
      await Promise.all(coords.map(worker));
      expect(violations).toEqual([]);
      expect(entries).toEqual({ read: 80, write: 12 });
      expect(await queueLength(coords[0]!, path)).toBe(0);
    });

    it('a reader arriving after a waiting writer queues behind it (writers never starve)', async () => {
      const t = context();
      const [a, b, c, d] = await t.openMany(4);
      const path = t.path('rw');
      const holder = await a!.rwlock(path).read.acquire();
      const writer = await enqueue(b!.rwlock(path).write, a!, 2);
      // A waiting writer closes the door: neither a new reader nor tryAcquire get past it.
      expect(await d!.rwlock(path).read.tryAcquire()).toBeUndefined();
      const reader = await enqueue(c!.rwlock(path).read, a!, 3);
      await delay(30);
      expect(writer.granted).toBe(false);
      expect(reader.granted).toBe(false);
      await holder.release();
      const write = await writer.lease;
      await delay(30);
      expect(reader.granted).toBe(false);
      await write.release();
      const read = await reader.lease;
      expect(read.token > write.token).toBe(true);
      await read.release();
    });

    it('grants in FIFO order: writers one by one, consecutive readers together', async () => {
      const t = context();
      const coords = await t.openMany(7);
      const path = t.path('rw');
      const holder = await coords[0]!.rwlock(path).write.acquire();
      const kinds = ['write', 'read', 'read', 'write', 'write', 'read'] as const;
      const order: string[] = [];
      const waiters: Promise<void>[] = [];
      for (const [i, kind] of kinds.entries()) {
        const lock = coords[i + 1]!.rwlock(path)[kind];
        waiters.push(
          background(lock.withLock(async () => {
            order.push(`${kind}${i + 1} in`);
            // Readers hold long enough for both woken readers to be in before either leaves.
            await delay(kind === 'read' ? 150 : 10);
            order.push(`${kind}${i + 1} out`);
          }, { timeout: 20_000 })),
        );
        await eventually(async () => (await queueLength(coords[0]!, path)) === i + 2, `waiter ${i + 1} queued`);
      }
      await holder.release();
      await Promise.all(waiters);
      expect(order.slice(0, 2)).toEqual(['write1 in', 'write1 out']);
      // The two readers hold together: both are in before either is out.
      expect(order.slice(2, 4).sort()).toEqual(['read2 in', 'read3 in']);
      expect(order.slice(4, 6).sort()).toEqual(['read2 out', 'read3 out']);
      expect(order.slice(6)).toEqual(['write4 in', 'write4 out', 'write5 in', 'write5 out', 'read6 in', 'read6 out']);
    });

    it('wakes only the waiters a release unblocks: the readers behind a writer, or the writer behind a reader', async () => {
      const t = context();
      const coords = await t.openMany(8);
      const [a, w6, r7] = [coords[0]!, coords[6]!, coords[7]!];
      const path = t.path('rw');
      const writer = await a.rwlock(path).write.acquire();
      const readers: Pending[] = [];
      for (let i = 1; i <= 5; i += 1) readers.push(await enqueue(coords[i]!.rwlock(path).read, a, i + 1));
      const lateWriter = await enqueue(w6.rwlock(path).write, a, 7);
      const lateReader = await enqueue(r7.rwlock(path).read, a, 8);
      const armed = (): number => coords.reduce((sum, coord) => sum + t.counting(coord).counts.watchesArmed, 0);
      await eventually(() => armed() >= 7, 'every waiter watches its blocker');
      const wakeUps = (): number => t.wakeUps(coords);
      const expectWakeUps = async (expected: number, what: string): Promise<void> => {
        await eventually(() => wakeUps() >= expected, what);
        await delay(30); // and no more than that
        expect(wakeUps()).toBe(expected);
      };
      const base = wakeUps();
      // The writer blocked the five readers: releasing it wakes exactly them, not the late pair.
      await writer.release();
      const held = await Promise.all(readers.map((r) => r.lease));
      await expectWakeUps(base + 5, 'the five readers woke');
      // The late writer watches its immediate predecessor (reader 5) only.
      const armedBefore = armed();
      await held[4]!.release();
      await expectWakeUps(base + 6, 'the late writer woke once');
      expect(lateWriter.granted).toBe(false); // readers 1-4 still hold: it re-queued on reader 4
      await eventually(() => armed() === armedBefore + 1, 'the late writer watches reader 4');
      for (const lease of held.slice(1, 3)) await lease.release();
      await delay(30);
      expect(wakeUps()).toBe(base + 6); // readers 2 and 3 were nobody's predecessor-blocker
      await held[0]!.release();
      expect(wakeUps()).toBe(base + 6);
      await held[3]!.release();
      const write = await lateWriter.lease;
      await expectWakeUps(base + 7, 'the late writer woke for reader 4');
      expect(lateReader.granted).toBe(false);
      await write.release();
      const read = await lateReader.lease;
      await expectWakeUps(base + 8, 'the late reader woke for the late writer');
      await read.release();
      expect(await queueLength(a, path)).toBe(0);
    });

    it('times out or aborts with nothing left behind; a writer giving up lets the readers behind it in', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('rw');
      const reading = await a!.rwlock(path).read.acquire();
      expect(await rejectionCode(b!.rwlock(path).write.acquire({ timeout: 100 }))).toBe('TIMEOUT');
      expect(await queueLength(a!, path)).toBe(1);
      const controller = new AbortController();
      const writer = background(b!.rwlock(path).write.acquire({ signal: controller.signal }));
      await eventually(async () => (await queueLength(a!, path)) === 2, 'writer queued');
      const reader = await enqueue(c!.rwlock(path).read, a!, 3);
      await delay(30);
      expect(reader.granted).toBe(false);
      controller.abort(new Error('writer gave up'));
      expect(await rejectionCode(writer)).toBe('ABORTED');
      // The reader behind the writer shares with the reader still holding.
      const read = await reader.lease;
      expect(reading.signal.aborted).toBe(false);
      expect(await queueLength(a!, path)).toBe(2);
      const writeHolder = await enqueue(b!.rwlock(path).write, a!, 3);
      expect(await rejectionCode(c!.rwlock(path).read.acquire({ timeout: 50 }))).toBe('TIMEOUT');
      expect(await rejectionCode(c!.rwlock(path).read.acquire({ signal: controller.signal }))).toBe('ABORTED');
      expect(await queueLength(a!, path)).toBe(3);
      await Promise.all([reading.release(), read.release()]);
      await (await writeHolder.lease).release();
      expect(await queueLength(a!, path)).toBe(0);
    });

    it('hands out strictly increasing fencing tokens across readers and writers', async () => {
      const t = context();
      const coords = await t.openMany(3);
      const path = t.path('rw');
      let last = 0n;
      for (let i = 0; i < 60; i += 1) {
        const rw = coords[i % coords.length]!.rwlock(path);
        const held = await (i % 3 === 0 ? rw.write : rw.read).acquire({ timeout: 5_000 });
        expect(held.token > last).toBe(true);
        last = held.token;
        await held.release();
      }
    });

    it('releases at the end of an `await using` block, even when it throws', async () => {
      const t = context();
      const coord = await t.open();
      const rw = coord.rwlock(t.path('rw'));
      const escaped: Lease[] = [];
      for (const side of [rw.read, rw.write]) {
        await expect(
          (async () => {
            await using held = await side.acquire();
            escaped.push(held);
            throw new Error('update failed');
          })(),
        ).rejects.toThrow('update failed');
      }
      expect(escaped.map((held) => held.released)).toEqual([true, true]);
      await expect(rw.write.withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(typeof (await rw.read.withLock(async (held) => held.token))).toBe('bigint');
      expect(await queueLength(coord, rw.path)).toBe(0);
    });

    it('treats a plain lock on the same path as a writer', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('rw');
      const mutex = await a!.lock(path).acquire();
      expect(await b!.rwlock(path).read.tryAcquire()).toBeUndefined();
      await mutex.release();
      const read = await b!.rwlock(path).read.tryAcquire();
      expect(read).toBeDefined();
      expect(await a!.lock(path).tryAcquire()).toBeUndefined();
      await read!.release();
    });

    it('rejects bad arguments with INVALID_ARGUMENT, and use after close with CLOSED', async () => {
      const t = context();
      const coord = await t.open();
      expect(await errorCode(() => coord.rwlock('relative'))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.rwlock(t.path('rw')).read.acquire({ timeout: -5 }))).toBe('INVALID_ARGUMENT');
      await coord.close();
      expect(await errorCode(() => coord.rwlock(t.path('rw')))).toBe('CLOSED');
    });

    for (const [holderSide, waiterSide] of [['read', 'write'], ['write', 'read']] as const) {
      withHook('expireSession')(`a ${holderSide} holder whose session expires: its signal aborts, then the waiting ${waiterSide} side is granted`, async () => {
        const t = context();
        const [a, b] = await t.openMany(2, { sessionTimeout: 1_000 });
        const path = t.path('rw');
        const held = await a!.rwlock(path)[holderSide].acquire();
        const events: string[] = [];
        held.signal.addEventListener('abort', () => events.push('holder aborted'));
        const next = background(
          b!.rwlock(path)[waiterSide].acquire({ timeout: 20_000 }).then((lease) => {
            events.push('waiter granted');
            return lease;
          }),
        );
        await eventually(async () => (await queueLength(b!, path)) === 2, 'waiter queued');
        await t.expireSession(a!);
        const lease = await next;
        expect(events).toEqual(['holder aborted', 'waiter granted']);
        expect((held.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
        expect(lease.token > held.token).toBe(true);
        await held.release(); // after loss: no throw
        await lease.release();
        await eventually(() => a!.session.state === 'connected', 'fresh session');
        const again = await a!.rwlock(path)[holderSide].acquire({ timeout: 5_000 });
        expect(again.token > lease.token).toBe(true);
        await again.release();
      });
    }
  });
}
