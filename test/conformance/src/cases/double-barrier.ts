/**
 * The double barrier recipe: nobody passes enter before `count` are in, nobody passes leave
 * before all have left, rounds on one path, deadlines on both phases, dead members counted
 * as gone, count disagreements, no herd.
 */
import { describe, expect, it } from '@jest/globals';
import type { BarrierMember, Coordinator } from 'coord';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually, rejectionCode } from '../util.js';

/** A promise whose settlement can be checked without awaiting it. */
interface Tracked<T> {
  readonly done: Promise<T>;
  settled(): boolean;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  let settled = false;
  const done = promise.finally(() => {
    settled = true;
  });
  done.catch(() => undefined); // observed by the test later
  return { done, settled: () => settled };
}

/** Registers the double barrier cases. */
export function doubleBarrierCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const listing = async (coord: Coordinator, path: string): Promise<string[]> =>
    (await coord.driver.children(path)).nodes.map((node) => node.name);
  const memberCount = async (coord: Coordinator, path: string): Promise<number> =>
    (await coord.driver.children(path)).nodes.filter((node) => node.seq > 0n).length;

  describe('double barrier', () => {
    it('with 5 members: nobody passes enter early, nobody passes leave early, and a second round works', async () => {
      const t = context();
      const coords = await t.openMany(5);
      const path = t.path('db');
      let lastToken = 0n;
      for (let round = 0; round < 2; round += 1) {
        const enters = coords.slice(0, 4).map((coord) => track(coord.doubleBarrier(path, { count: 5 }).enter({ timeout: 20_000 })));
        await eventually(async () => (await memberCount(coords[0]!, path)) === 4, 'four members in');
        await delay(100);
        expect(enters.filter((enter) => enter.settled())).toHaveLength(0);
        const fifth = await coords[4]!.doubleBarrier(path, { count: 5 }).enter({ timeout: 20_000 });
        const members = [...(await Promise.all(enters.map((enter) => enter.done))), fifth];
        for (const member of members) expect(member.token > lastToken).toBe(true);
        lastToken = members.reduce((max, member) => (member.token > max ? member.token : max), 0n);
        const leaves = members.slice(1).map((member) => track(member.leave({ timeout: 20_000 })));
        await delay(100);
        expect(leaves.filter((leave) => leave.settled())).toHaveLength(0);
        await members[0]!.leave({ timeout: 20_000 });
        await Promise.all(leaves.map((leave) => leave.done));
        expect(members.every((member) => member.left && member.signal.aborted)).toBe(true);
        expect(await listing(coords[0]!, path)).toEqual([]);
      }
    });

    it('keeps rounds apart when members loop enter → work → leave on one path', async () => {
      const t = context();
      const coords = await t.openMany(5);
      const path = t.path('db');
      const rounds = 4;
      const arrived = new Array<number>(rounds).fill(0);
      const leaving = new Array<number>(rounds).fill(0);
      const violations: string[] = [];
      const worker = async (coord: Coordinator, index: number): Promise<void> => {
        for (let round = 0; round < rounds; round += 1) {
          await delay(Math.random() * 10);
          arrived[round]! += 1;
          const member = await coord.doubleBarrier(path, { count: 5 }).enter({ timeout: 20_000 });
          if (arrived[round] !== 5) violations.push(`${index} passed enter of round ${round} with ${arrived[round]} in`);
          await delay(Math.random() * 10);
          leaving[round]! += 1;
          await member.leave({ timeout: 20_000 });
          if (leaving[round] !== 5) violations.push(`${index} passed leave of round ${round} with ${leaving[round]} leaving`);
        }
      };
      await Promise.all(coords.map(worker));
      expect(violations).toEqual([]);
      expect(await listing(coords[0]!, path)).toEqual([]);
    });

    it('count 1 passes at once: enter is two requests, leave three', async () => {
      const t = context();
      const coord = await t.open();
      const counts = t.counting(coord).counts;
      const total = () => counts.create + counts.createSequential + counts.delete + counts.get + counts.children + counts.set;
      let before = total();
      const member = await coord.doubleBarrier(t.path('db'), { count: 1 }).enter();
      expect(total() - before).toBe(2);
      before = total();
      await member.leave();
      expect(total() - before).toBe(3);
      await member.leave(); // no-op once left
      expect(total() - before).toBe(3);
      expect(await listing(coord, t.path('db'))).toEqual([]);
    });

    it('wakes each waiter once per phase (no herd on arrivals or departures)', async () => {
      const t = context();
      const coords = await t.openMany(6);
      const path = t.path('db');
      const enters: Promise<BarrierMember>[] = [];
      const before = t.wakeUps(coords);
      for (let i = 0; i < 5; i += 1) {
        enters.push(coords[i]!.doubleBarrier(path, { count: 6 }).enter({ timeout: 20_000 }));
        await eventually(async () => (await memberCount(coords[0]!, path)) === i + 1, `member ${i} in`);
      }
      const last = await coords[5]!.doubleBarrier(path, { count: 6 }).enter({ timeout: 20_000 });
      const members = [...(await Promise.all(enters)), last].sort((a, b) => (a.token < b.token ? -1 : 1));
      expect(t.wakeUps(coords) - before).toBe(5); // the round's marker, once per waiter
      const afterEnter = t.wakeUps(coords);
      // Everyone but the lowest leaves first, then the lowest (the sentinel) finds itself alone.
      const leaves = members.slice(1).map((member) => member.leave({ timeout: 20_000 }));
      await eventually(async () => (await memberCount(coords[0]!, path)) === 1, 'all but the lowest gone');
      await members[0]!.leave({ timeout: 20_000 });
      await Promise.all(leaves);
      expect(t.wakeUps(coords) - afterEnter).toBe(5);
    });

    it('enter times out with TIMEOUT, leaves no node, and does not count', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('db');
      const started = performance.now();
      expect(await rejectionCode(a!.doubleBarrier(path, { count: 2 }).enter({ timeout: 150 }))).toBe('TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(await listing(a!, path)).toEqual([]);
      const first = track(b!.doubleBarrier(path, { count: 2 }).enter({ timeout: 20_000 }));
      await delay(100);
      expect(first.settled()).toBe(false);
      const second = await c!.doubleBarrier(path, { count: 2 }).enter({ timeout: 20_000 });
      const member = await first.done;
      await Promise.all([member.leave(), second.leave()]);
      expect(await listing(a!, path)).toEqual([]);
    });

    it('enter aborts with ABORTED (before or during the wait) and leaves no node or watch', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('db');
      const controller = new AbortController();
      const waiting = a!.doubleBarrier(path, { count: 2 }).enter({ signal: controller.signal });
      await eventually(async () => (await memberCount(b!, path)) === 1, 'member in');
      controller.abort(new Error('user gave up'));
      expect(await rejectionCode(waiting)).toBe('ABORTED');
      expect(await listing(b!, path)).toEqual([]);
      expect(await rejectionCode(a!.doubleBarrier(path, { count: 2 }).enter({ signal: controller.signal }))).toBe('ABORTED');
      const before = t.wakeUps([a!]);
      const member = await b!.doubleBarrier(path, { count: 1 }).enter();
      await member.leave();
      await delay(50);
      expect(t.wakeUps([a!])).toBe(before);
      expect(await listing(b!, path)).toEqual([]);
    });

    it('leave times out with TIMEOUT but has left; a second leave waits for the rest', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('db');
      const [ma, mb] = await Promise.all([a!, b!].map((coord) => coord.doubleBarrier(path, { count: 2 }).enter({ timeout: 20_000 })));
      expect(await rejectionCode(ma!.leave({ timeout: 100 }))).toBe('TIMEOUT');
      expect(ma!.left).toBe(false);
      expect(ma!.signal.aborted).toBe(true);
      expect(await memberCount(a!, path)).toBe(1);
      const again = track(ma!.leave({ timeout: 20_000 }));
      await delay(50);
      expect(again.settled()).toBe(false);
      await mb!.leave({ timeout: 20_000 });
      await again.done;
      expect(ma!.left).toBe(true);
      expect(await listing(a!, path)).toEqual([]);
    });

    it('leave aborts with ABORTED and leaves no node', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('db');
      const [ma, mb] = await Promise.all([a!, b!].map((coord) => coord.doubleBarrier(path, { count: 2 }).enter({ timeout: 20_000 })));
      const controller = new AbortController();
      const leaving = ma!.leave({ signal: controller.signal });
      await delay(30);
      controller.abort();
      expect(await rejectionCode(leaving)).toBe('ABORTED');
      expect(await memberCount(a!, path)).toBe(1);
      await mb!.leave({ timeout: 5_000 }); // a is gone: nobody left to wait for
      expect(await listing(a!, path)).toEqual([]);
    });

    it('disposing a member leaves without waiting, and does not block the others', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('db');
      const [ma, mb] = await Promise.all([a!, b!].map((coord) => coord.doubleBarrier(path, { count: 2 }).enter({ timeout: 20_000 })));
      {
        await using held = ma!;
        expect(held.signal.aborted).toBe(false);
      }
      expect(ma!.signal.aborted).toBe(true);
      await mb!.leave({ timeout: 5_000 });
      expect(await listing(a!, path)).toEqual([]);
    });

    withHook('expireSession')('a member whose session dies before the round forms does not count', async () => {
      const t = context();
      const coords = await t.openMany(4);
      const path = t.path('db');
      const a = track(coords[0]!.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 }));
      const b = track(coords[1]!.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 }));
      await eventually(async () => (await memberCount(coords[0]!, path)) === 2, 'two in');
      await t.expireSession(coords[1]!);
      expect(await rejectionCode(b.done)).toBe('SESSION_EXPIRED');
      // Until the server has expired it too, the dying member still counts (as on any backend).
      await eventually(async () => (await memberCount(coords[0]!, path)) === 1, 'the dead member gone');
      const c = track(coords[2]!.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 }));
      await eventually(async () => (await memberCount(coords[0]!, path)) === 2, 'a and c in');
      await delay(100);
      expect(a.settled() || c.settled()).toBe(false);
      const d = await coords[3]!.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 });
      const members = [await a.done, await c.done, d];
      await Promise.all(members.map((member) => member.leave({ timeout: 20_000 })));
      expect(await listing(coords[0]!, path)).toEqual([]);
    });

    withHook('expireSession')('a member whose session dies inside is counted as gone by the leavers', async () => {
      const t = context();
      const coords = await t.openMany(3);
      const path = t.path('db');
      const members = await Promise.all(coords.map((coord) => coord.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 })));
      const events: string[] = [];
      members[2]!.signal.addEventListener('abort', () => events.push('dead member aborted'));
      const leaves = members.slice(0, 2).map((member) => track(member.leave({ timeout: 20_000 }).then(() => void events.push('left'))));
      await delay(100);
      expect(leaves.some((leave) => leave.settled())).toBe(false);
      await t.expireSession(coords[2]!);
      await Promise.all(leaves.map((leave) => leave.done));
      expect(events).toEqual(['dead member aborted', 'left', 'left']);
      expect((members[2]!.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
      await members[2]!.leave({ timeout: 5_000 }); // after loss: no throw, nobody to wait for
      expect(await listing(coords[0]!, path)).toEqual([]);
    });

    withHook('expireSession')('the sentinel dying mid-leave releases the others and leaves no marker', async () => {
      const t = context();
      const coords = await t.openMany(3);
      const path = t.path('db');
      const members = (await Promise.all(coords.map((coord) => coord.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 }))));
      const lowest = members.reduce((low, member) => (member.token < low.token ? member : low));
      const others = members.filter((member) => member !== lowest);
      const leaves = others.map((member) => track(member.leave({ timeout: 20_000 })));
      await eventually(async () => (await memberCount(coords[0]!, path)) === 1, 'only the sentinel left');
      await t.expireSession(coords[members.indexOf(lowest)]!);
      await Promise.all(leaves.map((leave) => leave.done));
      expect(await listing(coords[0]!, path)).toEqual([]);
    });

    it('a member using another count fails with CONFLICT and leaves no node', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('db');
      const waiting = track(a!.doubleBarrier(path, { count: 3 }).enter({ timeout: 20_000 }));
      await eventually(async () => (await memberCount(b!, path)) === 1, 'member in');
      expect(await rejectionCode(b!.doubleBarrier(path, { count: 2 }).enter({ timeout: 1_000 }))).toBe('CONFLICT');
      expect(await memberCount(b!, path)).toBe(1);
      expect(waiting.settled()).toBe(false);
      await a!.close();
      expect(await rejectionCode(waiting.done)).toBe('CLOSED');
    });

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const t = context();
      const coord = await t.open();
      for (const count of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        expect(await errorCode(() => coord.doubleBarrier(t.path('db'), { count }))).toBe('INVALID_ARGUMENT');
      }
      expect(await errorCode(() => coord.doubleBarrier(t.path('db'), {} as { count: number }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.doubleBarrier('db', { count: 2 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.doubleBarrier(t.path('db'), { count: 2 }).enter({ timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    });
  });
}
