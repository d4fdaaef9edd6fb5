// A create whose reply is lost after the server applied it (the driver gives up with
// CONNECTION_LOSS, or its retry finds the node and says NODE_EXISTS). Every recipe must
// neither leave the node behind — an ephemeral node of a live session in a queue is a lock
// nobody holds, a permit never given back, a ghost leader or barrier member — nor refuse a
// node that is its own.
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoordError } from '@coord/core';
import { storeNamed } from '@coord/memory';
import { connectionLoss, faultOnce, rejectedCoordError } from '@coord/testing';
import { FaultyCoordinators } from './faulty-coordinators.js';

const STORE = 'lost-create-replies';
const coordinators = new FaultyCoordinators(STORE);
let counter = 0;
const unique = (what: string): string => `/lost-create/${what}-${(counter += 1)}`;
const groupName = (): string => `g${(counter += 1)}`;

afterEach(async () => {
  await coordinators.closeAll();
  expect(storeNamed(STORE).stats().ephemeralNodes).toBe(0);
});

/** Loses the reply of the first `createSequential` under a directory ending with `dir`. */
const loseSequentialUnder = (dir: string) => faultOnce((method, path) => method === 'createSequential' && path.endsWith(dir), connectionLoss);

describe('a sequential create with a lost reply leaves no node behind', () => {
  it('lock: the failed acquire leaves the queue empty, so the lock stays free for others', async () => {
    const path = unique('lock');
    const a = await coordinators.open({ loseReply: loseSequentialUnder(path) });
    const b = await coordinators.open();
    expect((await rejectedCoordError(a.coord.lock(path).acquire({ timeout: 5_000 }))).code).toBe('CONNECTION_LOSS');
    expect((await b.coord.driver.children(path)).nodes).toEqual([]);
    const held = await b.coord.lock(path).tryAcquire();
    expect(held).toBeDefined();
    await held?.release();
  });

  it('write lock: a leaked writer node would block every reader', async () => {
    const path = unique('rw');
    const a = await coordinators.open({ loseReply: loseSequentialUnder(path) });
    const b = await coordinators.open();
    await rejectedCoordError(a.coord.rwlock(path).write.acquire({ timeout: 5_000 }));
    const held = await b.coord.rwlock(path).read.acquire({ timeout: 2_000 });
    await held.release();
  });

  it('semaphore(1): the failed acquire leaves no lease node, so the permit stays free', async () => {
    const path = unique('sem');
    const a = await coordinators.open({ loseReply: loseSequentialUnder(`${path}/leases`) });
    const b = await coordinators.open();
    await rejectedCoordError(a.coord.semaphore(path, { permits: 1 }).acquire({ timeout: 5_000 }));
    expect((await b.coord.driver.children(`${path}/leases`)).nodes).toEqual([]);
    const held = await b.coord.semaphore(path, { permits: 1 }).acquire({ timeout: 2_000 });
    await held.release();
  });

  it('election: a campaign whose create reply was lost does not make a ghost leader', async () => {
    const path = unique('election');
    const a = await coordinators.open({ loseReply: loseSequentialUnder(path) });
    expect((await rejectedCoordError(a.coord.election<string>(path).campaign('a', { timeout: 1_000 }))).code).toBe('CONNECTION_LOSS');
    expect(await a.coord.election<string>(path).leader()).toBeUndefined();
  });

  it('double barrier: an enter whose create reply was lost is not counted as a member', async () => {
    const path = unique('double');
    const a = await coordinators.open({ loseReply: loseSequentialUnder(path) });
    const b = await coordinators.open();
    expect((await rejectedCoordError(a.coord.doubleBarrier(path, { count: 2 }).enter({ timeout: 1_000 }))).code).toBe('CONNECTION_LOSS');
    // Only one real member is in: b must not pass enter on the ghost's account.
    expect((await rejectedCoordError(b.coord.doubleBarrier(path, { count: 2 }).enter({ timeout: 500 }))).code).toBe('TIMEOUT');
  });

  it('queue: a claim whose create reply was lost does not keep the message from everyone', async () => {
    const path = unique('queue');
    const a = await coordinators.open();
    const b = await coordinators.open();
    await a.coord.queue(path).put('job');
    a.faults.faults = { loseReply: faultOnce((method, node) => method === 'create' && node.startsWith(`${path}/claims/`), connectionLoss) };
    expect((await rejectedCoordError(a.coord.queue(path).take({ timeout: 5_000 }))).code).toBe('CONNECTION_LOSS');
    const message = await b.coord.queue<string>(path).take({ timeout: 2_000 });
    expect(message.value).toBe('job');
    await message.ack();
  });
});

describe('group: a create retried by the driver after a lost reply finds its own node', () => {
  // The driver's retry of a create whose first reply was lost finds the node: NODE_EXISTS.
  const nodeExists = (): CoordError => new CoordError('NODE_EXISTS', 'injected: the retried create found the node');

  it('a join whose first reply was lost is a member, not MEMBER_EXISTS with a ghost node left', async () => {
    const name = groupName();
    const { coord } = await coordinators.open({ loseReply: faultOnce((method, path) => method === 'create' && path.endsWith('/m1'), nodeExists) });
    await coord.group(name).create();
    const member = await coord.group(name).join('m1', { capabilities: 1 });
    expect(await coord.group(name).members()).toEqual(new Map([['m1', 1]]));
    await member.leave();
    expect(await coord.group(name).members()).toEqual(new Map());
    await coord.group(name).delete();
  });

  it('a group create whose first reply was lost succeeds, not GROUP_EXISTS; a second create is GROUP_EXISTS', async () => {
    const name = groupName();
    const { coord } = await coordinators.open({ loseReply: faultOnce((method, path) => method === 'create' && path.endsWith(`/${name}`), nodeExists) });
    await coord.group(name).create();
    expect((await rejectedCoordError(coord.group(name).create())).code).toBe('GROUP_EXISTS');
    await coord.group(name).delete();
  });
});
