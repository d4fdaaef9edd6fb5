// Deletes that fail or whose reply is lost. An abandoned waiter's delete that fails while its
// session lives must still happen (else its node blocks the queue for as long as the process
// lives), and the caller gets its own error, not the delete's. A delete repeated by the driver
// after its reply was lost must not hit another client's node at a reused path.
import { afterEach, describe, expect, it } from '@jest/globals';
import { isCoordError, sleep } from '@coord/core';
import { storeNamed } from '@coord/memory';
import { eventually, faultOnce, rejectedCoordError, unavailable } from '@coord/testing';
import type { Coordinator, Membership } from '../src/index.js';
import { FaultyCoordinators } from './faulty-coordinators.js';

const STORE = 'delete-faults';
const coordinators = new FaultyCoordinators(STORE);
let counter = 0;
const unique = (what: string): string => `/delete-faults/${what}-${(counter += 1)}`;

afterEach(async () => {
  await coordinators.closeAll();
  expect(storeNamed(STORE).stats().ephemeralNodes).toBe(0);
});

/** Fails the first delete of a path under `dir` without applying it. */
const failDeleteUnder = (dir: string) => faultOnce((method, path) => method === 'delete' && path.startsWith(`${dir}/`), unavailable);

describe('a clean-up delete that fails while the session lives is retried in the background', () => {
  it('lock: a timed-out waiter whose delete fails once rejects TIMEOUT and still leaves no node behind', async () => {
    const path = unique('lock');
    const a = await coordinators.open();
    const b = await coordinators.open();
    const held = await a.coord.lock(path).acquire({ timeout: 5_000 });
    b.faults.faults = { fail: failDeleteUnder(path) };
    expect((await rejectedCoordError(b.coord.lock(path).acquire({ timeout: 100 }))).code).toBe('TIMEOUT');
    await held.release();
    const next = await a.coord.lock(path).acquire({ timeout: 2_000 });
    await next.release();
    expect((await a.coord.driver.children(path)).nodes).toEqual([]);
  });

  it('semaphore(1): a timed-out waiter whose lease delete fails once rejects TIMEOUT and gives the permit back', async () => {
    const path = unique('sem');
    const a = await coordinators.open();
    const b = await coordinators.open();
    const held = await a.coord.semaphore(path, { permits: 1 }).acquire({ timeout: 5_000 });
    b.faults.faults = { fail: failDeleteUnder(`${path}/leases`) };
    expect((await rejectedCoordError(b.coord.semaphore(path, { permits: 1 }).acquire({ timeout: 100 }))).code).toBe('TIMEOUT');
    await held.release();
    const next = await a.coord.semaphore(path, { permits: 1 }).acquire({ timeout: 2_000 });
    await next.release();
  });

  it('lock: an aborted waiter whose delete keeps failing rejects ABORTED, and the retry ends with the coordinator', async () => {
    const path = unique('lock');
    const a = await coordinators.open();
    const b = await coordinators.open();
    const held = await a.coord.lock(path).acquire({ timeout: 5_000 });
    let failures = 0;
    b.faults.faults = {
      fail: (method) => {
        if (method !== 'delete') return undefined;
        failures += 1;
        return unavailable();
      },
    };
    const controller = new AbortController();
    const waiting = b.coord.lock(path).acquire({ signal: controller.signal });
    await eventually(async () => (await a.coord.driver.children(path)).nodes.length === 2, 'b queued');
    controller.abort();
    expect((await rejectedCoordError(waiting)).code).toBe('ABORTED');
    // The first delete, then retries after 100 ms and 200 ms more.
    await eventually(() => failures >= 3, 'the delete is retried');
    expect((await a.coord.driver.children(path)).nodes).toHaveLength(2);
    // Closing b ends its session (its node goes with it) and the retry with it: no timer is left.
    await b.coord.close();
    const seen = failures;
    await sleep(300);
    expect(failures).toBe(seen);
    await held.release();
  });
});

describe('a delete repeated by the driver after its reply was lost, at a reused path', () => {
  // The driver repeats only a delete conditional on the node's token (the Driver contract);
  // an unconditional repeat would delete B's claim, and C would take the message B holds.
  it("queue: a nack retried by the driver does not delete the next consumer's claim", async () => {
    const path = unique('queue');
    const a = await coordinators.open();
    const b = await coordinators.open();
    const c = await coordinators.open();
    await a.coord.queue(path).put('job');
    const first = await a.coord.queue<string>(path).take({ timeout: 5_000 });
    // B waits at the head of the line, watching the claims: it claims the moment A's goes.
    const second = b.coord.queue<string>(path).take({ timeout: 5_000 });
    await sleep(50);
    a.faults.faults = { loseDeleteReply: (node) => (node.startsWith(`${path}/claims/`) ? 100 : undefined) };
    await first.nack();
    const held = await second;
    expect(held.state).toBe('held');
    // B holds the message: nobody else may take it while B's claim lives.
    expect((await rejectedCoordError(c.coord.queue<string>(path).take({ timeout: 500 }))).code).toBe('TIMEOUT');
    await held.ack();
  });

  it("group: a leave retried by the driver does not delete the member's next incarnation", async () => {
    const name = `g${(counter += 1)}`;
    const a = await coordinators.open();
    const b = await coordinators.open();
    await a.coord.group(name).create();
    const first = await a.coord.group(name).join('w1', { capabilities: 'a' });
    a.faults.faults = { loseDeleteReply: (node) => (node.endsWith('/w1') ? 200 : undefined) };
    const leaving = first.leave();
    // The same member id joins again (on another client) before the driver repeats a's delete.
    const second = await eventuallyJoined(b.coord, name);
    await leaving;
    expect(first.left).toBe(true);
    expect(await b.coord.group(name).members()).toEqual(new Map([['w1', 'b']]));
    expect(second.signal.aborted).toBe(false);
    await second.leave();
    await b.coord.group(name).delete();
  });

  it('group: an update is conditional on the member\'s own node, not one re-created at its path', async () => {
    const name = `g${(counter += 1)}`;
    const a = await coordinators.open();
    const b = await coordinators.open();
    await a.coord.group(name).create();
    const first = await a.coord.group(name).join('w1', { capabilities: 'a' });
    // Someone deletes a's node by hand and joins as w1; both nodes are at version 0.
    await b.coord.driver.delete(`/.coord/groups/${name}/w1`);
    const second = await b.coord.group(name).join('w1', { capabilities: 'b' });
    expect((await rejectedCoordError(first.update('a2'))).code).toBe('LOST');
    expect(await b.coord.group(name).members()).toEqual(new Map([['w1', 'b']]));
    await second.leave();
    await b.coord.group(name).delete();
  });
});

/** Joins `name` as `w1` once the id is free. */
async function eventuallyJoined(coord: Coordinator, name: string): Promise<Membership<string>> {
  for (;;) {
    try {
      return await coord.group<string>(name).join('w1', { capabilities: 'b' });
    } catch (error) {
      if (!isCoordError(error, 'MEMBER_EXISTS')) throw error;
      await sleep(5);
    }
  }
}
