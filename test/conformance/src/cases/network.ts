/**
 * Network and server faults, on the real backends only: a lost reply, a partition shorter and
 * longer than the session, the whole backend crashing, a cluster member dying. They need the
 * fixture's network hooks (`proxy`, `restartBackend`, `killMember`); an in-process backend
 * has no network, so a fixture without a hook does not register its cases at all.
 *
 * The invariant every case checks is the lock's promise under failure: whenever a second
 * holder is granted, the first holder's `signal` has already aborted (or it released); and a
 * client cut off from the backend gets its work done again once the network heals.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator, Lease } from 'coord';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, eventually } from '../util.js';

/** Lock nodes queued under a lock path, as another client sees them. */
async function queueLength(coord: Coordinator, path: string): Promise<number> {
  return (await coord.driver.children(path)).nodes.length;
}

/**
 * Starts an acquire on `coord` that records, at the moment it is granted, whether `first` was
 * already over (its signal aborted, or `released()` says it was released).
 */
function nextHolder(coord: Coordinator, path: string, first: Lease, released: () => boolean): Promise<{ lease: Lease; firstWasOver: boolean }> {
  return coord
    .lock(path)
    .acquire({ timeout: 90_000 })
    .then((lease) => ({ lease, firstWasOver: first.signal.aborted || released() }));
}

/** Registers the network-fault cases the fixture has hooks for. */
export function networkCases(fixture: DriverFixture, context: () => TestContext): void {
  const { proxy, restartBackend, killMember } = fixture.faults;
  if (proxy === undefined && restartBackend === undefined && killMember === undefined) return;

  describe('network faults', () => {
    if (proxy !== undefined) proxyCases(context);
    if (restartBackend !== undefined) restartCases(context, restartBackend);
    if (killMember !== undefined) memberCases(context, killMember);
  });
}

function proxyCases(context: () => TestContext): void {
  it('a reply lost during acquire and release leaves exactly one node and never a second holder', async () => {
    const t = context();
    const { coord: a, net } = await t.openProxied({ sessionTimeout: 10_000 });
    const b = await t.open();
    const path = t.path('lock');
    for (let round = 0; round < 3; round += 1) {
      expect(net.loseNextReply()).toBeGreaterThan(0);
      const held = await a.lock(path).acquire({ timeout: 30_000 });
      // The create's reply (or the one after it) was lost: the driver found its own node by
      // name instead of making a second one, and nobody else can get in.
      expect(await queueLength(b, path)).toBe(1);
      expect(await b.lock(path).tryAcquire()).toBeUndefined();
      expect(held.signal.aborted).toBe(false);
      net.loseNextReply();
      await held.release();
      await eventually(async () => (await queueLength(b, path)) === 0, 'the released node is gone');
    }
    const next = await b.lock(path).acquire({ timeout: 10_000 });
    await next.release();
    expect(net.stats().lostReplies).toBeGreaterThan(0);
  });

  it('a connection cut shorter than the session: the holder keeps its lock and its session', async () => {
    const t = context();
    const { coord: a, net } = await t.openProxied({ sessionTimeout: 10_000 });
    const b = await t.open();
    const path = t.path('lock');
    const held = await a.lock(path).acquire();
    const session = a.session.id;
    net.blackhole();
    await delay(1_500);
    net.heal(); // resets the connections that lost bytes: the client reconnects to its session
    const later = await a.lock(t.path('other')).acquire({ timeout: 20_000 });
    expect(held.signal.aborted).toBe(false);
    expect(a.session.id).toBe(session);
    expect(await b.lock(path).tryAcquire()).toBeUndefined();
    await later.release();
    await held.release();
    const next = await b.lock(path).acquire({ timeout: 10_000 });
    await next.release();
  });

  it('a partition longer than the session: the holder aborts before the next is granted, then recovers', async () => {
    const t = context();
    const { coord: a, net } = await t.openProxied({ sessionTimeout: 5_000 });
    const b = await t.open({ sessionTimeout: 10_000 });
    const path = t.path('lock');
    const held = await a.lock(path).acquire();
    const first = a.session;
    const next = nextHolder(b, path, held, () => false);
    await eventually(async () => (await queueLength(b, path)) === 2, 'the waiter queued');
    net.blackhole();
    const { lease, firstWasOver } = await next;
    expect(firstWasOver).toBe(true);
    expect((held.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
    expect(first.state).toBe('expired');
    expect(lease.token > held.token).toBe(true);
    await held.release(); // lost: a no-op, no throw
    net.heal();
    // The cut-off client carries on with a fresh session once the network is back.
    const again = a.lock(path).acquire({ timeout: 60_000 });
    await delay(100);
    await lease.release();
    const regained = await again;
    expect(a.session.id).not.toBe(first.id);
    expect(regained.token > lease.token).toBe(true);
    await regained.release();
  });
}

function restartCases(context: () => TestContext, restartBackend: () => Promise<void>): void {
  it('the whole backend crashes and restarts: never two holders, and every client works again', async () => {
    const t = context();
    const [a, b] = await t.openMany(2, { sessionTimeout: 10_000 });
    const path = t.path('lock');
    const held = await a!.lock(path).acquire();
    let released = false;
    await restartBackend();
    const next = nextHolder(b!, path, held, () => released);
    // The backend decides whether the session outlived the crash (ZooKeeper and etcd persist
    // sessions and leases; a Redis without persistence comes back empty). Either the handle
    // still holds — then nobody else is granted until it releases — or its signal aborted.
    await eventually(() => held.signal.aborted || a!.session.state === 'connected', 'holder settled', 60_000);
    if (!held.signal.aborted) {
      await delay(500);
      expect(await Promise.race([next.then(() => 'granted'), delay(0).then(() => 'waiting')])).toBe('waiting');
      released = true;
      await held.release();
    }
    const { lease, firstWasOver } = await next;
    expect(firstWasOver).toBe(true);
    await lease.release();
    for (const coord of [a!, b!]) {
      const fresh = await coord.lock(t.path('after')).acquire({ timeout: 60_000 });
      await fresh.release();
    }
  });
}

function memberCases(context: () => TestContext, killMember: (role: 'leader' | 'follower') => Promise<() => Promise<void>>): void {
  for (const role of ['follower', 'leader'] as const) {
    it(`one member killed (the ${role}): sessions survive and the lock keeps handing over`, async () => {
      const t = context();
      const [a, b] = await t.openMany(2, { sessionTimeout: 15_000 });
      const path = t.path('lock');
      const held = await a!.lock(path).acquire();
      let released = false;
      const next = nextHolder(b!, path, held, () => released);
      await eventually(async () => (await queueLength(b!, path)) === 2, 'the waiter queued');
      const revive = await killMember(role);
      try {
        const other = await a!.lock(t.path('other')).acquire({ timeout: 60_000 });
        await other.release();
        expect(held.signal.aborted).toBe(false);
        released = true;
        await held.release();
        const { lease, firstWasOver } = await next;
        expect(firstWasOver).toBe(true);
        expect(lease.token > held.token).toBe(true);
        await lease.release();
      } finally {
        await revive();
      }
    });
  }
}
