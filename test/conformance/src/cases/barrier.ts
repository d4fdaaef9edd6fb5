/**
 * The barrier recipe: raise/lower/isRaised semantics, waiters released together, re-checks
 * after wake-ups, deadlines leave no watch, ephemeral raises end with the raiser's session.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator } from 'coord';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually, rejectionCode } from '../util.js';

/** Registers the barrier cases. */
export function barrierCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const nodes = async (coord: Coordinator, path: string): Promise<string[]> =>
    (await coord.driver.children(path)).nodes.map((node) => node.name);

  /** Starts a wait and reports whether it has settled (and how). */
  const track = (promise: Promise<void>) => {
    const state = { settled: false, error: undefined as unknown };
    const done = promise.then(
      () => void (state.settled = true),
      (error: unknown) => {
        state.settled = true;
        state.error = error;
      },
    );
    return { state, done };
  };

  describe('barrier', () => {
    it('raise and lower are idempotent and report whether they changed anything', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      expect(await a!.barrier(path).isRaised()).toBe(false);
      expect(await a!.barrier(path).raise()).toBe(true);
      expect(await b!.barrier(path).raise()).toBe(false);
      expect(await b!.barrier(path).raise({ ephemeral: true })).toBe(false);
      expect(await b!.barrier(path).isRaised()).toBe(true);
      expect(await b!.barrier(path).lower()).toBe(true);
      expect(await a!.barrier(path).lower()).toBe(false);
      expect(await a!.barrier(path).isRaised()).toBe(false);
      expect(await nodes(a!, path)).toEqual([]);
    });

    it('wait resolves at once on a barrier that is not raised, in one request', async () => {
      const t = context();
      const coord = await t.open();
      const counts = t.counting(coord).counts;
      const before = { ...counts };
      await coord.barrier(t.path('barrier')).wait({ timeout: 1_000 });
      expect(counts.get - before.get).toBe(1);
      expect(counts.children + counts.create + counts.delete - before.children - before.create - before.delete).toBe(0);
    });

    it('blocks every waiter while raised and releases all of them on lower', async () => {
      const t = context();
      const coords = await t.openMany(6);
      const path = t.path('barrier');
      await coords[0]!.barrier(path).raise();
      const waits = coords.slice(1).map((coord) => track(coord.barrier(path).wait({ timeout: 20_000 })));
      await delay(100);
      expect(waits.filter((wait) => wait.state.settled)).toHaveLength(0);
      await coords[0]!.barrier(path).lower();
      await Promise.all(waits.map((wait) => wait.done));
      expect(waits.map((wait) => wait.state.error)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    });

    it('re-checks after a wake-up: a change that leaves it raised keeps waiters waiting', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      await a!.barrier(path).raise();
      const before = t.wakeUps([b!]);
      const wait = track(b!.barrier(path).wait({ timeout: 20_000 }));
      await eventually(() => t.counting(b!).counts.watchesArmed > 0, 'waiter watching');
      // The raised state is the node `<path>/raised` (see the recipe's protocol comment).
      await a!.driver.set(`${path}/raised`, new TextEncoder().encode('touched'));
      await eventually(() => t.wakeUps([b!]) > before, 'waiter woken');
      await delay(50);
      expect(wait.state.settled).toBe(false);
      await a!.barrier(path).lower();
      await wait.done;
      expect(wait.state.error).toBeUndefined();
    });

    it('times out with TIMEOUT and leaves no watch behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      await a!.barrier(path).raise();
      const started = performance.now();
      expect(await rejectionCode(b!.barrier(path).wait({ timeout: 150 }))).toBe('TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      const before = t.wakeUps([b!]);
      await a!.barrier(path).lower();
      await delay(50);
      expect(t.wakeUps([b!])).toBe(before); // a leaked watch would have fired on the lower
    });

    it('aborts with ABORTED (before or during the wait) and leaves no watch behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      await a!.barrier(path).raise();
      const controller = new AbortController();
      const waiting = b!.barrier(path).wait({ signal: controller.signal });
      await eventually(() => t.counting(b!).counts.watchesArmed > 0, 'waiter watching');
      controller.abort(new Error('user gave up'));
      expect(await rejectionCode(waiting)).toBe('ABORTED');
      const requests = t.counting(b!).counts.get;
      expect(await rejectionCode(b!.barrier(path).wait({ signal: controller.signal }))).toBe('ABORTED');
      expect(t.counting(b!).counts.get).toBe(requests);
      const before = t.wakeUps([b!]);
      await a!.barrier(path).lower();
      await delay(50);
      expect(t.wakeUps([b!])).toBe(before);
    });

    it('an ephemeral raise lowers when its raiser closes; a plain raise survives it', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('barrier');
      expect(await a!.barrier(path).raise({ ephemeral: true })).toBe(true);
      const wait = b!.barrier(path).wait({ timeout: 20_000 });
      await a!.close();
      await wait;
      expect(await b!.barrier(path).isRaised()).toBe(false);
      expect(await b!.barrier(path).raise()).toBe(true);
      await b!.close();
      expect(await c!.barrier(path).isRaised()).toBe(true);
      expect(await c!.barrier(path).lower()).toBe(true);
      expect(await nodes(c!, path)).toEqual([]);
    });

    withHook('expireSession')('an ephemeral raise lowers when its raiser session expires', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      await a!.barrier(path).raise({ ephemeral: true });
      const wait = track(b!.barrier(path).wait({ timeout: 20_000 }));
      await delay(50);
      expect(wait.state.settled).toBe(false);
      await t.expireSession(a!);
      await wait.done;
      expect(wait.state.error).toBeUndefined();
      expect(await b!.barrier(path).isRaised()).toBe(false);
      // The raiser's coordinator carries on with a fresh session and can raise again.
      await eventually(() => a!.session.state === 'connected', 'fresh session');
      expect(await a!.barrier(path).raise({ ephemeral: true })).toBe(true);
      expect(await b!.barrier(path).lower()).toBe(true);
    });

    withHook('expireSession')("a waiter's own session expiring does not end its wait", async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('barrier');
      await a!.barrier(path).raise();
      const wait = track(b!.barrier(path).wait({ timeout: 20_000 }));
      await eventually(() => t.counting(b!).counts.watchesArmed > 0, 'waiter watching');
      await t.expireSession(b!);
      await delay(50);
      expect(wait.state.settled).toBe(false);
      await a!.barrier(path).lower();
      await wait.done;
      expect(wait.state.error).toBeUndefined();
    });

    it('raise, lower and isRaised are one request each', async () => {
      const t = context();
      const coord = await t.open();
      const barrier = coord.barrier(t.path('barrier'));
      const counts = t.counting(coord).counts;
      const total = () => counts.create + counts.delete + counts.get + counts.children + counts.set + counts.createSequential;
      let before = total();
      await barrier.raise();
      expect(total() - before).toBe(1);
      before = total();
      await barrier.isRaised();
      expect(total() - before).toBe(1);
      before = total();
      await barrier.lower();
      expect(total() - before).toBe(1);
    });

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const t = context();
      const coord = await t.open();
      expect(await errorCode(() => coord.barrier('relative'))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.barrier(t.path('b')).wait({ timeout: -5 }))).toBe('INVALID_ARGUMENT');
      await coord.close();
      expect(await errorCode(() => coord.barrier(t.path('b')))).toBe('CLOSED');
    });
  });
}
