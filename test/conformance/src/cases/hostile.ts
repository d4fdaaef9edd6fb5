/**
 * Hostile input (issue 13): every public call either refuses before any request, with a
 * CoordError `INVALID_ARGUMENT` whose message names the argument, or completes — and on no
 * failure path leaves a node, a watch, a timer or a session behind (the harness checks the
 * last three after every case; the cases check the nodes).
 */
import { describe, expect, it } from '@jest/globals';
import { getEventListeners } from 'node:events';
import type { Coordinator } from 'coord';
import { MAX_PATH_LENGTH, type CoordError } from '@coord/core';
import { rejectedCoordError } from '@coord/testing';
import { canLoseSession, type DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { background, delay, errorCode, eventually, rejectionCode } from '../util.js';

/** One hostile call: what it does to a fresh coordinator, and the argument its refusal names. */
type Hostile = readonly [label: string, call: (coord: Coordinator, path: string) => unknown, argument: string];

const bad = <T>(value: unknown): T => value as T;
const controller = (): AbortController => new AbortController();
const noop = (): void => undefined;

const HOSTILE: readonly Hostile[] = [
  ['lock.acquire(null)', (c, p) => c.lock(p).acquire(bad(null)), 'options'],
  ['lock.acquire({ signal: controller })', (c, p) => c.lock(p).acquire({ signal: bad(controller()) }), 'signal'],
  ['lock.acquire({ timeout: -1 })', (c, p) => c.lock(p).acquire({ timeout: -1 }), 'timeout'],
  ['lock.acquire({ timeout: NaN })', (c, p) => c.lock(p).acquire({ timeout: NaN }), 'timeout'],
  ["lock.acquire({ timeout: '5' })", (c, p) => c.lock(p).acquire({ timeout: bad('5') }), 'timeout'],
  ['lock.withLock(42)', (c, p) => c.lock(p).withLock(bad(42)), 'fn'],
  ['lock.withLock(fn, null)', (c, p) => c.lock(p).withLock(noop, bad(null)), 'options'],
  ['lock(42)', (c) => c.lock(bad(42)), 'lock path'],
  ['rwlock.read.acquire(null)', (c, p) => c.rwlock(p).read.acquire(bad(null)), 'options'],
  ['rwlock.write.acquire({ signal: {} })', (c, p) => c.rwlock(p).write.acquire({ signal: bad({}) }), 'signal'],
  ['semaphore(path, { permits: 0 })', (c, p) => c.semaphore(p, { permits: 0 }), 'permits'],
  ['semaphore(path, { permits: 1.5 })', (c, p) => c.semaphore(p, { permits: 1.5 }), 'permits'],
  ["semaphore(path, { permits: '3' })", (c, p) => c.semaphore(p, { permits: bad('3') }), 'permits'],
  ['semaphore(path, null)', (c, p) => c.semaphore(p, bad(null)), 'options'],
  ['semaphore.acquire({ signal: controller })', (c, p) => c.semaphore(p, { permits: 2 }).acquire({ signal: bad(controller()) }), 'signal'],
  ['semaphore.withLock(undefined)', (c, p) => c.semaphore(p, { permits: 2 }).withLock(bad(undefined)), 'fn'],
  ['barrier.wait(null)', (c, p) => c.barrier(p).wait(bad(null)), 'options'],
  ['barrier.wait({ timeout: -5 })', (c, p) => c.barrier(p).wait({ timeout: -5 }), 'timeout'],
  ['barrier.raise(null)', (c, p) => c.barrier(p).raise(bad(null)), 'options'],
  ["barrier.raise({ ephemeral: 'yes' })", (c, p) => c.barrier(p).raise({ ephemeral: bad('yes') }), 'ephemeral'],
  ['doubleBarrier(path, { count: 0 })', (c, p) => c.doubleBarrier(p, { count: 0 }), 'count'],
  ['doubleBarrier(path, { count: 2.5 })', (c, p) => c.doubleBarrier(p, { count: 2.5 }), 'count'],
  ['doubleBarrier(path, null)', (c, p) => c.doubleBarrier(p, bad(null)), 'options'],
  ['doubleBarrier.enter({ signal: controller })', (c, p) => c.doubleBarrier(p, { count: 2 }).enter({ signal: bad(controller()) }), 'signal'],
  ['queue.put(x, null)', (c, p) => c.queue(p).put('x', bad(null)), 'options'],
  ['queue.put(x, { priority: 1.5 })', (c, p) => c.queue(p).put('x', { priority: 1.5 }), 'priority'],
  ['queue.take(null)', (c, p) => c.queue(p).take(bad(null)), 'options'],
  ['queue.take({ signal: controller })', (c, p) => c.queue(p).take({ signal: bad(controller()) }), 'signal'],
  ['queue.consume(null)', (c, p) => c.queue(p).consume(bad(null)), 'options'],
  ['queue(path, { codec: {} })', (c, p) => c.queue(p, bad<never>({ codec: {} })), 'codec'],
  ['queue(path, null)', (c, p) => c.queue(p, bad<never>(null)), 'options'],
  ['election.observe(null)', (c, p) => c.election(p).observe(bad<never>(null)), 'options'],
  ['election.observe({ signal: controller })', (c, p) => c.election(p).observe({ signal: bad<never>(controller()) }), 'signal'],
  ['election.campaign(v, null)', (c, p) => c.election(p).campaign('v', bad<never>(null)), 'options'],
  ['election.campaign(v, { timeout: -1 })', (c, p) => c.election(p).campaign('v', { timeout: -1 }), 'timeout'],
  ['election(path, { codec: 42 })', (c, p) => c.election(p, bad<never>({ codec: 42 })), 'codec'],
  ['group(name, null)', (c, p) => c.group(p.slice(1).replaceAll('/', '-'), bad<never>(null)), 'options'],
  ['group(name, { codec: { encode } })', (c, p) => c.group(p.slice(1).replaceAll('/', '-'), bad<never>({ codec: { encode: noop } })), 'codec'],
  ['group.join(id, null)', (c, p) => c.group(p.slice(1).replaceAll('/', '-')).join('m', bad(null)), 'options'],
  ['group.join(id, { rejoin: true, onRejoin: 42 })', (c, p) => c.group(p.slice(1).replaceAll('/', '-')).join('m', { rejoin: true, onRejoin: bad(42) }), 'onRejoin'],
  ["group.join(id, { rejoin: 'yes' })", (c, p) => c.group(p.slice(1).replaceAll('/', '-')).join('m', { rejoin: bad('yes') }), 'rejoin'],
  ['group.watch(null)', (c, p) => c.group(p.slice(1).replaceAll('/', '-')).watch(bad(null)), 'options'],
  ["coord.on('state', 42)", (c) => c.on('state', bad(42)), 'listener'],
  ["coord.on('nope', fn)", (c) => c.on(bad<'state'>('nope'), noop), 'event'],
  ["coord.off('state', null)", (c) => c.off('state', bad(null)), 'listener'],
  ["lock('/.coord/groups/ghost')", (c) => c.lock('/.coord/groups/ghost'), 'lock path'],
  ["semaphore('/.coord/x')", (c) => c.semaphore('/.coord/x', { permits: 1 }), 'semaphore path'],
  ["queue('/.coord')", (c) => c.queue('/.coord'), 'queue path'],
  ["election('/.coord/e')", (c) => c.election('/.coord/e'), 'election path'],
  ["barrier('/.coord/b')", (c) => c.barrier('/.coord/b'), 'barrier path'],
];

/** A path of exactly `length` characters under `prefix`, in segments of at most 100. */
function pathOfLength(prefix: string, length: number): string {
  let path = prefix;
  while (path.length < length) path += `/${'x'.repeat(Math.min(100, length - path.length - 1))}`;
  if (path.length !== length) path = `${path.slice(0, length - 1)}y`;
  return path;
}

/** The longest path under `prefix` that `make` accepts (it throws INVALID_ARGUMENT past it). */
function longestAccepted(prefix: string, make: (path: string) => unknown): number {
  for (let length = MAX_PATH_LENGTH; length > prefix.length; length -= 1) {
    try {
      make(pathOfLength(prefix, length));
      return length;
    } catch {
      // too long for this recipe's own nodes: try one shorter
    }
  }
  throw new Error('no path accepted');
}

/**
 * Captures process warnings while `body` runs (and a little after): those emitted as
 * 'warning' events, and those passed to `process.emitWarning` in this realm (Jest's sandbox
 * has its own `process` object, whose events Node's own warnings may not reach).
 */
async function warningsDuring(body: () => Promise<void>): Promise<{ name: string; message: string }[]> {
  const seen: { name: string; message: string }[] = [];
  const onWarning = (warning: Error): void => {
    seen.push({ name: warning.name, message: warning.message });
  };
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, options?: string | { type?: string }) => {
    const name = typeof warning !== 'string' ? warning.name : typeof options === 'string' ? options : (options?.type ?? 'Warning');
    seen.push({ name, message: typeof warning === 'string' ? warning : warning.message });
  }) as typeof process.emitWarning;
  process.on('warning', onWarning);
  try {
    await body();
    await delay(50); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
    process.emitWarning = original;
  }
  return seen;
}

/** How many 'abort' listeners a signal has. */
const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A recipe's full cycle at a path: everything it creates must fit, and go again. */
type Cycle = readonly [recipe: string, make: (coord: Coordinator, path: string) => unknown, run: (coord: Coordinator, path: string) => Promise<void>];

const CYCLES: readonly Cycle[] = [
  ['lock', (c, p) => c.lock(p), async (c, p) => (await c.lock(p).acquire({ timeout: 5_000 })).release()],
  ['rwlock', (c, p) => c.rwlock(p), async (c, p) => {
    await (await c.rwlock(p).read.acquire({ timeout: 5_000 })).release();
    await (await c.rwlock(p).write.acquire({ timeout: 5_000 })).release();
  }],
  ['semaphore', (c, p) => c.semaphore(p, { permits: 1 }), async (c, p) => {
    const sem = c.semaphore(p, { permits: 1 });
    const first = await sem.acquire({ timeout: 5_000 });
    const second = background(sem.acquire({ timeout: 5_000 })); // the slow path: queue and lease nodes
    await delay(20);
    await first.release();
    await (await second).release();
  }],
  ['barrier', (c, p) => c.barrier(p), async (c, p) => {
    const barrier = c.barrier(p);
    expect(await barrier.raise()).toBe(true);
    expect(await barrier.lower()).toBe(true);
    await barrier.wait({ timeout: 5_000 });
  }],
  ['doubleBarrier', (c, p) => c.doubleBarrier(p, { count: 1 }), async (c, p) => {
    const member = await c.doubleBarrier(p, { count: 1 }).enter({ timeout: 5_000 });
    await member.leave({ timeout: 5_000 });
  }],
  ['queue', (c, p) => c.queue(p), async (c, p) => {
    const queue = c.queue<string>(p);
    const waiting = background(queue.take({ timeout: 5_000 })); // the slow path: a taker node
    await delay(20);
    await queue.put('a', { priority: 7 });
    const message = await waiting;
    expect(message.value).toBe('a');
    await message.ack();
    expect(await queue.size()).toBe(0);
  }],
  ['election', (c, p) => c.election(p), async (c, p) => {
    const election = c.election<string>(p);
    const leadership = await election.campaign('me', { timeout: 5_000 });
    expect((await election.leader())?.value).toBe('me');
    await leadership.resign();
    expect(await election.leader()).toBeUndefined();
  }],
];

/** Registers the hostile-input cases. */
export function hostileCases(fixture: DriverFixture, context: () => TestContext): void {
  const withExpiry = canLoseSession(fixture, 'expireSession') ? it : it.skip;

  describe('hostile input', () => {
    it.each(HOSTILE.map((entry) => [entry[0], entry] as const))('%s: INVALID_ARGUMENT naming the argument, no node left', async (_label, entry) => {
      const [, call, argument] = entry;
      const t = context();
      const coord = await t.open();
      const path = t.path('hostile');
      const error: CoordError = await rejectedCoordError((async () => call(coord, path))());
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(argument);
      expect((await coord.driver.children(t.prefix)).nodes).toEqual([]);
    });

    it.each(CYCLES.map((cycle) => [cycle[0], cycle] as const))('%s: a path at the budget works end to end, one past it is refused', async (_label, cycle) => {
      const [recipe, make, run] = cycle;
      const t = context();
      const coord = await t.open();
      const longest = longestAccepted(t.prefix, (path) => make(coord, path));
      expect(longest).toBeGreaterThan(MAX_PATH_LENGTH - 100);
      expect(longest).toBeLessThan(MAX_PATH_LENGTH);
      const over = await rejectedCoordError((async () => make(coord, pathOfLength(t.prefix, longest + 1)))());
      expect(over.code).toBe('INVALID_ARGUMENT');
      expect(over.message).toContain('path');
      await run(coord, pathOfLength(t.prefix, longest));
      await run(coord, pathOfLength(t.prefix, longest)); // and again: nothing was left in the way
      expect(recipe).toBeDefined();
    });

    it('an AbortController passed as signal leaves no waiter node behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      expect(await rejectionCode(b!.lock(path).acquire({ signal: bad(controller()) }))).toBe('INVALID_ARGUMENT');
      expect((await a!.driver.children(path)).nodes).toHaveLength(1);
      await held.release();
    });

    it.each([['lock'], ['queue'], ['barrier']])('%s: a 2^31 ms timeout really waits (still pending after 100 ms), then aborts', async (recipe) => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path(recipe);
      const held = recipe === 'lock' ? await a!.lock(path).acquire() : undefined;
      if (recipe === 'barrier') await a!.barrier(path).raise();
      const stop = new AbortController();
      const options = { timeout: 2 ** 31, signal: stop.signal };
      const warnings = await warningsDuring(async () => {
        const waiting = background<unknown>(
          recipe === 'lock' ? b!.lock(path).acquire(options) : recipe === 'queue' ? b!.queue(path).take(options) : b!.barrier(path).wait(options),
        );
        let settled = false;
        void waiting.then(() => (settled = true), () => (settled = true));
        await delay(100);
        expect(settled).toBe(false);
        stop.abort();
        expect(await rejectionCode(waiting)).toBe('ABORTED');
      });
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning');
      await held?.release();
      if (recipe === 'barrier') await a!.barrier(path).lower();
    });

    it('timeout: Infinity means no timeout', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const waiting = background(b!.lock(path).acquire({ timeout: Infinity }));
      await delay(50);
      await held.release();
      await (await waiting).release();
    });

    it('50 concurrent timed waits on one session: no MaxListenersExceededWarning', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      const shared = new AbortController();
      // The timed waits get a long timeout (each has its timer) and are ended by their own
      // signal once checked: a short one could run out before all 100 waiters are queued on a
      // slow cluster, and then "all queued at once" would never be seen.
      const stopTimed = new AbortController();
      const warnings = await warningsDuring(async () => {
        const timed = Array.from({ length: 50 }, () => rejectionCode(b!.lock(path).acquire({ timeout: 60_000, signal: stopTimed.signal })));
        const linked = Array.from({ length: 50 }, () => rejectionCode(b!.lock(path).acquire({ signal: shared.signal })));
        await eventually(async () => (await a!.driver.children(path)).nodes.length === 101, 'every waiter queued', 60_000, 20);
        // One shared listener per signal, not one per waiter.
        expect(abortListeners(b!.session.signal)).toBeLessThanOrEqual(3);
        expect(abortListeners(shared.signal)).toBeLessThanOrEqual(1);
        expect(abortListeners(stopTimed.signal)).toBeLessThanOrEqual(1);
        stopTimed.abort();
        expect(new Set(await Promise.all(timed))).toEqual(new Set(['ABORTED']));
        shared.abort();
        expect(new Set(await Promise.all(linked))).toEqual(new Set(['ABORTED']));
      });
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
      await held.release();
      await eventually(async () => (await a!.driver.children(path)).nodes.length === 0, 'every waiter node gone', 30_000, 20);
    });

    it('50 held leases with signal read on one session: no MaxListenersExceededWarning', async () => {
      const t = context();
      const coord = await t.open();
      const sem = coord.semaphore(t.path('sem'), { permits: 50 });
      const warnings = await warningsDuring(async () => {
        const leases = await Promise.all(Array.from({ length: 50 }, () => sem.acquire({ timeout: 10_000 })));
        for (const lease of leases) expect(lease.signal.aborted).toBe(false);
        expect(abortListeners(coord.session.signal)).toBeLessThanOrEqual(3);
        await Promise.all(leases.map((lease) => lease.release()));
        for (const lease of leases) expect(lease.signal.aborted).toBe(true);
      });
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    });

    withExpiry('a throwing state listener gives a warning, not an uncaught exception', async () => {
      const t = context();
      const coord = await t.open();
      let calls = 0;
      const warnings = await warningsDuring(async () => {
        coord.on('state', () => {
          calls += 1;
          throw new Error('listener bug');
        });
        await t.expireSession(coord);
        await eventually(() => calls > 0, 'listener called');
      });
      expect(warnings.some((w) => w.name === 'CoordListenerWarning' && w.message.includes('listener bug'))).toBe(true);
    });

    withExpiry('a throwing onRejoin gives a warning, not an uncaught exception; the member rejoins', async () => {
      const t = context();
      const coord = await t.open();
      const group = coord.group(t.prefix.slice(1).replaceAll('/', '-'));
      await group.create();
      let outcomes = 0;
      const warnings = await warningsDuring(async () => {
        const me = await group.join('m', { rejoin: true, onRejoin: () => {
          outcomes += 1;
          throw new Error('onRejoin bug');
        } });
        await t.expireSession(coord);
        await eventually(() => outcomes > 0, 'rejoin reported', 15_000);
        expect([...(await group.members()).keys()]).toEqual(['m']);
        await me.leave();
      });
      expect(warnings.some((w) => w.name === 'CoordListenerWarning' && w.message.includes('onRejoin bug'))).toBe(true);
      await group.delete();
    });

    it("a lock under '/.coord/groups' is refused, so groups() shows no phantom group", async () => {
      const t = context();
      const coord = await t.open();
      expect(await errorCode(() => coord.lock('/.coord/groups/ghost'))).toBe('INVALID_ARGUMENT');
      expect(await coord.groups()).not.toContain('ghost');
    });

    it('after close(), factories and existing handles reject CLOSED', async () => {
      const t = context();
      const coord = await t.open();
      const lock = coord.lock(t.path('lock'));
      const queue = coord.queue(t.path('queue'));
      const election = coord.election(t.path('election'));
      const barrier = coord.barrier(t.path('barrier'));
      await coord.close();
      expect(await errorCode(() => coord.lock(t.path('x')))).toBe('CLOSED');
      expect(await errorCode(() => coord.group('g'))).toBe('CLOSED');
      expect(await rejectionCode(coord.groups())).toBe('CLOSED');
      expect(await rejectionCode(lock.acquire({ timeout: 1_000 }))).toBe('CLOSED');
      expect(await rejectionCode(lock.tryAcquire())).toBe('CLOSED');
      expect(await rejectionCode(queue.put('x'))).toBe('CLOSED');
      expect(await rejectionCode(queue.take({ timeout: 1_000 }))).toBe('CLOSED');
      expect(await rejectionCode(election.leader())).toBe('CLOSED');
      expect(await rejectionCode(barrier.wait({ timeout: 1_000 }))).toBe('CLOSED');
      // A bad argument is still refused as such after close (checked before anything else).
      expect(await rejectionCode(lock.acquire(bad(null)))).toBe('INVALID_ARGUMENT');
    });
  });
}
