// Races the conformance suite cannot force on every backend: a leave behind a rejoin that
// keeps failing, an observation of an empty election that ends, and a newcomer arriving at a
// double barrier while the sentinel of the last round is leaving.
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, unavailable } from '@coord/testing';
import type { Coordinator } from '../src/index.js';
import { FaultyCoordinators } from './faulty-coordinators.js';

const coordinators = new FaultyCoordinators('recipe-races');
let counter = 0;
const unique = (what: string): string => `/recipe-races/${what}-${(counter += 1)}`;

afterEach(async () => {
  await coordinators.closeAll();
});

describe('group', () => {
  it('leave() does not wait for a rejoin that keeps failing while the backend is unavailable', async () => {
    const name = `g${(counter += 1)}`;
    let failCreates = false;
    let failed = 0;
    const { coord, memory } = await coordinators.open({
      fail: (method) => (method === 'create' && failCreates && (failed += 1) > 0 ? unavailable() : undefined),
    });
    await coord.group(name).create();
    const member = await coord.group(name).join('m', { rejoin: true });
    failCreates = true;
    memory.expireSession();
    await eventually(() => failed >= 2, 'rejoin retried', 10_000);
    let left = false;
    const leaving = member.leave().then(() => (left = true));
    await eventually(() => left, 'leave() resolved while the backend still fails creates', 5_000);
    await leaving;
    failCreates = false;
    await new Promise((resolve) => setTimeout(resolve, 300)); // a rejoin still running would re-create it now
    expect(await coord.group(name).members()).toEqual(new Map());
    await coord.group(name).delete();
  });
});

describe('election observe with no leader', () => {
  it('aborting the observation drops its watch on the queue', async () => {
    const { coord, memory } = await coordinators.open();
    const before = memory.store.stats().watches;
    const controller = new AbortController();
    const iterator = coord.election(unique('observe')).observe({ signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBeUndefined();
    const pending = iterator.next();
    controller.abort();
    expect((await pending).done).toBe(true);
    expect(memory.store.stats().watches).toBe(before);
  });

  it('breaking out of the observation drops its watch on the queue', async () => {
    const { coord, memory } = await coordinators.open();
    const before = memory.store.stats().watches;
    for await (const leader of coord.election(unique('observe')).observe()) {
      expect(leader).toBeUndefined();
      break;
    }
    expect(memory.store.stats().watches).toBe(before);
  });
});

describe('double barrier: a newcomer arrives while the sentinel of the last round leaves', () => {
  it('it does not count a member of the old round into a new one, nor strand the next round', async () => {
    const path = unique('double');
    let gate: (() => void) | undefined;
    let holding = false;
    // Holds the reply of the sentinel's delete (whichever of its node and marker comes last).
    const { coord: a } = await coordinators.open({
      holdAfter: (method, node) =>
        method === 'delete' && holding && node.startsWith(`${path}/`) ? new Promise<void>((resolve) => (gate = resolve)) : undefined,
    });
    const [{ coord: b }, { coord: c }, { coord: d, memory: raw }] = await Promise.all([
      coordinators.open(),
      coordinators.open(),
      coordinators.open(),
    ]);
    const members = async (): Promise<number> => (await raw.children(path)).nodes.filter((n) => n.seq > 0n).length;
    const barrier = (coord: Coordinator) => coord.doubleBarrier(path, { count: 2 });
    // Round 1: a (the sentinel: lowest) and b.
    const enteringA = barrier(a).enter({ timeout: 10_000 });
    await eventually(async () => (await members()) === 1, 'a queued');
    const memberB = await barrier(b).enter({ timeout: 10_000 });
    const memberA = await enteringA;
    expect(memberA.token < memberB.token).toBe(true);
    // c arrives during round 1: it waits for round 2.
    const enteringC = barrier(c).enter({ timeout: 10_000 });
    await eventually(async () => (await members()) === 3, 'c queued');
    const leavingB = memberB.leave({ timeout: 10_000 });
    await eventually(async () => (await members()) === 2, 'b left');
    holding = true;
    const leavingA = memberA.leave({ timeout: 10_000 });
    await eventually(() => gate !== undefined, 'the sentinel made its first delete and is held');
    holding = false;
    // d arrives in the window. c and d are two members: both must pass enter.
    const inside = await members();
    const enteringD = barrier(d).enter({ timeout: 10_000 });
    await eventually(async () => (await members()) === inside + 1, 'd queued');
    await new Promise((resolve) => setTimeout(resolve, 50)); // let d decide on that listing
    gate!();
    await Promise.all([leavingA, leavingB]);
    const [memberC, memberD] = await Promise.all([enteringC, enteringD]);
    await Promise.all([memberC.leave({ timeout: 10_000 }), memberD.leave({ timeout: 10_000 })]);
    expect((await raw.children(path)).nodes).toEqual([]);
  });
});
