// Group membership under injected faults the conformance suite cannot force on every backend:
// transient read failures in the middle of a watch round, a failed rejoin, an update racing a
// rejoin. The driver is the memory driver behind a FaultDriver that fails or holds chosen calls.
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, unavailable } from '@coord/testing';
import type { GroupEvent, RejoinOutcome } from '../src/index.js';
import { FaultyCoordinators } from './faulty-coordinators.js';

const coordinators = new FaultyCoordinators('group-unit');
const open = coordinators.open.bind(coordinators);
afterEach(() => coordinators.closeAll());

/** Waits until `condition` holds, then lets pending callbacks run. */
async function settledAfter(condition: () => boolean): Promise<void> {
  await eventually(condition, 'condition', 10_000);
  await new Promise((resolve) => setImmediate(resolve));
}

let counter = 0;
const uniqueName = (): string => `unit-${process.pid}-${(counter += 1)}`;

/** While `holding`, holds each create before it is sent, until `release()`: a rejoin caught in flight. */
interface CreateGate {
  holding: boolean;
  release: (() => void) | undefined;
}

/** A coordinator whose creates pass a {@link CreateGate}, and a fresh group on it. */
async function openGroupWithGate() {
  const gate: CreateGate = { holding: false, release: undefined };
  const { coord, memory } = await open({
    holdBefore: (method) => (method === 'create' && gate.holding ? new Promise<void>((resolve) => (gate.release = resolve)) : undefined),
  });
  const name = uniqueName();
  await coord.group(name).create();
  return { coord, memory, gate, name };
}

describe('group watch under transient failures', () => {
  it('a member read that fails in the middle of a round loses no event: the round is retried', async () => {
    let failures = 0;
    let listings = 0;
    const { coord: watcher } = await open({
      // The first two reads of m3 fail (the watch's join round and its retry).
      fail: (method, path) => {
        if (method === 'children') listings += 1;
        return method === 'get' && path.endsWith('/m3') && (failures += 1) <= 2 ? unavailable() : undefined;
      },
    });
    const { coord: member } = await open({});
    const name = uniqueName();
    await member.group(name).create();
    const events: GroupEvent<unknown>[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      for await (const event of watcher.group(name).watch({ signal: controller.signal })) events.push(event);
    })().catch((error: unknown) => error);
    await settledAfter(() => listings >= 1); // the first listing is armed: the joins come in a later round
    const joined = await Promise.all([1, 2, 3, 4].map((i) => member.group(name).join(`m${i}`, { capabilities: i })));
    await eventually(() => events.length === 4, 'four joins', 10_000);
    expect(events.map((event) => `${event.type} ${event.member} ${String(event.capabilities)}`).sort()).toEqual([
      'join m1 1',
      'join m2 2',
      'join m3 3',
      'join m4 4',
    ]);
    expect(failures).toBeGreaterThanOrEqual(2);
    await Promise.all(joined.map((m) => m.leave()));
    await eventually(() => events.length === 8, 'four leaves', 10_000);
    controller.abort();
    expect(await watching).toBeUndefined();
    await member.group(name).delete();
  });

  it('a failed listing is read again; the watch carries on', async () => {
    let listings = 0;
    // The second listing (the one after the join) fails once.
    const { coord: watcher } = await open({ fail: (method) => (method === 'children' && (listings += 1) === 2 ? unavailable() : undefined) });
    const { coord: member } = await open({});
    const name = uniqueName();
    await member.group(name).create();
    const events: string[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      for await (const event of watcher.group(name).watch({ signal: controller.signal })) events.push(`${event.type} ${event.member}`);
    })().catch((error: unknown) => error);
    await settledAfter(() => listings >= 1);
    const one = await member.group(name).join('one');
    await eventually(() => events.length === 1, 'join seen after the failed listing', 10_000);
    expect(listings).toBe(3);
    await one.leave();
    await eventually(() => events.length === 2, 'leave seen', 10_000);
    expect(events).toEqual(['join one', 'leave one']);
    controller.abort();
    expect(await watching).toBeUndefined();
    await member.group(name).delete();
  });
});

describe('group rejoin', () => {
  it('retries a rejoin that fails transiently', async () => {
    let failCreates = 0;
    const { coord, memory } = await open({
      fail: (method) => (method === 'create' && failCreates > 0 && (failCreates -= 1) >= 0 ? unavailable() : undefined),
    });
    const name = uniqueName();
    await coord.group(name).create();
    const outcomes: RejoinOutcome[] = [];
    const member = await coord.group(name).join('m', { capabilities: 'x', rejoin: true, onRejoin: (o) => outcomes.push(o) });
    failCreates = 2;
    memory.expireSession();
    await eventually(() => outcomes.length === 1, 'rejoined', 10_000);
    expect(outcomes[0]).toMatchObject({ rejoined: true });
    expect(await coord.group(name).members()).toEqual(new Map([['m', 'x']]));
    await member.leave();
    await coord.group(name).delete();
  });

  it('an update racing a rejoin lands on the new incarnation, never on the old one', async () => {
    const { coord, memory, gate, name } = await openGroupWithGate();
    const outcomes: RejoinOutcome[] = [];
    const member = await coord.group<{ v: number }>(name).join('m', { capabilities: { v: 1 }, rejoin: true, onRejoin: (o) => outcomes.push(o) });
    const oldToken = member.token;
    gate.holding = true;
    memory.expireSession();
    await eventually(() => gate.release !== undefined, 'rejoin create in flight');
    gate.holding = false;
    const update = member.update({ v: 2 }); // queued behind the rejoin
    gate.release!();
    await update;
    expect(outcomes).toEqual([{ rejoined: true, token: member.token }]);
    expect(member.token > oldToken).toBe(true);
    expect(member.capabilities).toEqual({ v: 2 });
    expect(await coord.group(name).members()).toEqual(new Map([['m', { v: 2 }]]));
    await member.leave();
    expect(await coord.group(name).members()).toEqual(new Map());
    await coord.group(name).delete();
  });

  it('an update while the session is gone is kept and published by the rejoin', async () => {
    const { coord, memory, gate, name } = await openGroupWithGate();
    const member = await coord.group<{ v: number }>(name).join('m', { capabilities: { v: 1 }, rejoin: true });
    const signal = member.signal;
    // Expire, and update from inside the expiry notification: before the fresh session's rejoin.
    let updated: Promise<void> | undefined;
    coord.on('state', ({ state }) => {
      if (state === 'expired') updated = member.update({ v: 3 });
    });
    gate.holding = true;
    memory.expireSession();
    await updated;
    expect(signal.aborted).toBe(true);
    expect(member.capabilities).toEqual({ v: 3 });
    await eventually(() => gate.release !== undefined, 'rejoin create in flight');
    gate.holding = false;
    gate.release!();
    await eventually(async () => (await coord.group(name).members()).size === 1, 'rejoined');
    expect(await coord.group(name).members()).toEqual(new Map([['m', { v: 3 }]]));
    await member.leave();
    await coord.group(name).delete();
  });
});
