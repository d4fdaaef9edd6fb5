import { describe, it, expect, afterEach } from '@jest/globals';
import {
  CoordError,
  DEFAULT_SETTINGS,
  isCoordError,
  parseUrl,
  type DriverSettings,
  type SessionStateChange,
} from '@coord/core';
import { MemoryDriver } from '../src/driver.js';
import { MemoryStore, storeNamed } from '../src/store.js';
import { createDriver } from '../src/index.js';
import { rejectedCoordError } from '@coord/testing';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const now = (): number => performance.now();
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function settings(sessionTimeout: number): DriverSettings {
  return { ...DEFAULT_SETTINGS, sessionTimeout };
}

/** Settles like `promise`, or rejects after `ms` (clearing its timer either way). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every driver opened by a test; each is closed after it (close is idempotent). */
const opened: MemoryDriver[] = [];
afterEach(async () => {
  for (const driver of opened.splice(0)) await driver.close();
});

let counter = 0;
function freshStore(): MemoryStore {
  counter += 1;
  return new MemoryStore(`driver-test-${counter}`);
}

function open(store: MemoryStore, ttl = 10_000): MemoryDriver {
  const driver = new MemoryDriver(store, settings(ttl));
  opened.push(driver);
  return driver;
}

/** Records session state changes of a driver. */
function record(driver: MemoryDriver): { id: string; previous: string; state: string }[] {
  const changes: { id: string; previous: string; state: string }[] = [];
  driver.onSessionState((c: SessionStateChange) => changes.push({ id: c.session.id, previous: c.previous, state: c.state }));
  return changes;
}

describe('MemoryDriver sessions', () => {
  it('after stopRenewing() the local deadline aborts the session signal before the store drops the session', async () => {
    const store = freshStore();
    const ttl = 300;
    const owner = open(store, ttl);
    const observer = open(store);
    const changes = record(owner);
    await owner.create('/ttl/eph', bytes(1), { ephemeral: true });
    const old = owner.session;
    const oldId = old.id;

    const atAbort = { time: -1, storeHasSession: false, nodeThere: false };
    old.signal.addEventListener(
      'abort',
      () => {
        atAbort.time = now();
        atAbort.storeHasSession = store.hasSession(oldId);
        atAbort.nodeThere = store.get('/ttl/eph') !== undefined;
      },
      { once: true },
    );
    // A raw store watcher runs synchronously when the store deletes the node.
    const atDelete = { time: -1, storeHasSession: true };
    store.watchNode('/ttl/eph', {
      fire: () => {
        atDelete.time = now();
        atDelete.storeHasSession = store.hasSession(oldId);
      },
    });
    const changed = (await observer.get('/ttl/eph', { watch: true })).changed!;

    const stoppedAt = now();
    owner.stopRenewing();
    await within(changed, ttl + 1_500, 'the store deleting the ephemeral node');

    // The local deadline fired first, while the store still had the session and its node.
    expect(atAbort.time).toBeGreaterThan(0);
    expect(atAbort.storeHasSession).toBe(true);
    expect(atAbort.nodeThere).toBe(true);
    expect(atAbort.time).toBeLessThan(atDelete.time);
    expect(atAbort.time - stoppedAt).toBeLessThan(ttl);
    const reason = old.signal.reason as CoordError;
    expect(isCoordError(reason, 'SESSION_EXPIRED')).toBe(true);
    expect(reason.message).toBe(`session ${oldId} passed its local deadline without a renewal`);
    expect(old.state).toBe('expired');

    // Then the store expired it at its TTL (plus slack for a loaded machine).
    expect(atDelete.storeHasSession).toBe(false);
    expect(atDelete.time - stoppedAt).toBeLessThanOrEqual(ttl + 1_000);
    expect(store.hasSession(oldId)).toBe(false);
    expect((await observer.get('/ttl/eph')).node).toBeUndefined();

    // The driver moved on to a fresh, live session.
    expect(owner.session.id).not.toBe(oldId);
    expect(owner.session.state).toBe('connected');
    expect(store.hasSession(owner.session.id)).toBe(true);
    expect(changes).toEqual([
      { id: oldId, previous: 'connected', state: 'expired' },
      { id: owner.session.id, previous: 'expired', state: 'connected' },
    ]);
  });

  it('with renewals running, a session outlives several TTLs', async () => {
    const store = freshStore();
    const ttl = 300;
    const driver = open(store, ttl);
    const changes = record(driver);
    const session = driver.session;
    await driver.create('/alive', bytes(), { ephemeral: true });
    await pause(1_000);
    expect(driver.session).toBe(session);
    expect(session.state).toBe('connected');
    expect(session.signal.aborted).toBe(false);
    expect(store.hasSession(session.id)).toBe(true);
    expect((await driver.get('/alive')).node?.owner).toBe(session.id);
    expect(changes).toEqual([]);
  });

  it('expireSession() tells the owner first: its signal is aborted when the observer’s watch fires', async () => {
    const store = freshStore();
    const owner = open(store);
    const observer = open(store);
    const changes = record(owner);
    await owner.create('/exp/eph', bytes(), { ephemeral: true });
    const old = owner.session;
    const ownWatch = (await owner.get('/exp/unrelated', { watch: true })).changed!;

    const atFire: { ownerAborted: boolean; ownerState: string }[] = [];
    store.watchNode('/exp/eph', {
      fire: () => atFire.push({ ownerAborted: old.signal.aborted, ownerState: old.state }),
    });
    const changed = (await observer.get('/exp/eph', { watch: true })).changed!;
    const observed = changed.then((event) => ({ event, ownerAborted: old.signal.aborted }));

    owner.expireSession();

    expect(atFire).toEqual([{ ownerAborted: true, ownerState: 'expired' }]);
    await expect(observed).resolves.toEqual({ event: 'changed', ownerAborted: true });
    const reason = old.signal.reason as CoordError;
    expect(isCoordError(reason, 'SESSION_EXPIRED')).toBe(true);
    expect(reason.message).toBe(`session ${old.id} expired on the store`);
    await expect(ownWatch).resolves.toBe('session');

    // A fresh session, reported old→expired then new connected.
    const fresh = owner.session;
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.state).toBe('connected');
    expect(fresh.signal.aborted).toBe(false);
    expect(store.hasSession(old.id)).toBe(false);
    expect(store.hasSession(fresh.id)).toBe(true);
    expect(changes).toEqual([
      { id: old.id, previous: 'connected', state: 'expired' },
      { id: fresh.id, previous: 'expired', state: 'connected' },
    ]);
    const again = await owner.create('/exp/eph', bytes(), { ephemeral: true });
    expect(again.owner).toBe(fresh.id);
    expect(store.stats().sessions).toBe(2);
  });

  it('onSessionState returns an unsubscribe function', async () => {
    const driver = open(freshStore());
    const seen: string[] = [];
    const off = driver.onSessionState((c) => seen.push(c.state));
    driver.expireSession();
    off();
    driver.expireSession();
    expect(seen).toEqual(['expired', 'connected']);
  });

  it('close() is idempotent, deletes ephemerals, resolves armed watches with "session" and leaves no sessions or watches', async () => {
    const store = freshStore();
    const driver = open(store);
    const observer = open(store);
    const changes = record(driver);
    await driver.create('/cl/e1', bytes(), { ephemeral: true });
    await driver.createSequential('/cl', 'seq-', bytes(), { ephemeral: true });
    await driver.create('/cl/plain', bytes());
    const session = driver.session;

    const onPlain = (await driver.get('/cl/plain', { watch: true })).changed;
    const onMissing = (await driver.get('/nothing/here', { watch: true })).changed;
    const onDir = (await driver.children('/elsewhere', { watch: true })).changed;
    const seenByObserver = (await observer.children('/cl', { watch: true })).changed;
    expect(store.stats().watches).toBe(4);

    await driver.close();
    await driver.close();

    await expect(onPlain).resolves.toBe('session');
    await expect(onMissing).resolves.toBe('session');
    await expect(onDir).resolves.toBe('session');
    await expect(seenByObserver).resolves.toBe('changed');
    expect((await observer.children('/cl')).nodes.map((n) => n.name)).toEqual(['plain']);
    expect(session.state).toBe('closed');
    expect(isCoordError(session.signal.reason, 'CLOSED')).toBe(true);
    expect(changes).toEqual([{ id: session.id, previous: 'connected', state: 'closed' }]);
    expect((await rejectedCoordError(driver.get('/cl/plain'))).code).toBe('CLOSED');

    await observer.delete('/cl/plain');
    await observer.close();
    expect(store.stats()).toMatchObject({ sessions: 0, watches: 0, nodes: 0, ephemeralNodes: 0 });
  });

  it('close() leaves no store session even after a session expiry', async () => {
    const store = freshStore();
    const driver = open(store);
    driver.expireSession();
    await driver.get('/x', { watch: true });
    await driver.close();
    expect(store.stats()).toMatchObject({ sessions: 0, watches: 0 });
  });
});

describe('MemoryDriver nodes', () => {
  it('passes requireParent to the store (create and createSequential)', async () => {
    const store = freshStore();
    const driver = open(store);
    expect((await rejectedCoordError(driver.create('/group/member', bytes(), { ephemeral: true, requireParent: true }))).code).toBe('NO_NODE');
    expect((await rejectedCoordError(driver.createSequential('/group', 'n-', bytes(), { requireParent: true }))).code).toBe('NO_NODE');
    await driver.create('/group', bytes());
    expect((await driver.create('/group/member', bytes(), { ephemeral: true, requireParent: true })).owner).toBe(driver.session.id);
    expect(store.stats()).toMatchObject({ nodes: 2, ephemeralNodes: 1 });
  });

  it('passes the token of delete and set to the store: a stale token leaves a re-created node alone', async () => {
    const store = freshStore();
    const a = open(store);
    const b = open(store);
    const first = await a.create('/claims/item-1', bytes(1), { ephemeral: true });
    expect(await a.delete('/claims/item-1', { token: first.token })).toBe(true);
    const second = await b.create('/claims/item-1', bytes(2), { ephemeral: true });
    expect(await a.delete('/claims/item-1', { token: first.token })).toBe(false);
    expect((await rejectedCoordError(a.set('/claims/item-1', bytes(3), { token: first.token }))).code).toBe('NO_NODE');
    expect((await a.get('/claims/item-1')).node).toMatchObject({ data: bytes(2), owner: b.session.id });
    expect(await b.set('/claims/item-1', bytes(4), { version: 0, token: second.token })).toBe(1);
    expect(await b.delete('/claims/item-1', { token: second.token })).toBe(true);
    expect((await rejectedCoordError(a.delete('/claims/item-1', { token: 0n }))).code).toBe('INVALID_ARGUMENT');
  });

  it('an ephemeral node cannot have children (INVALID_ARGUMENT)', async () => {
    const store = freshStore();
    const driver = open(store);
    await driver.create('/parent', bytes(), { ephemeral: true });
    const e = await rejectedCoordError(driver.create('/parent/child', bytes()));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('/parent is ephemeral and cannot have children');
    expect((await rejectedCoordError(driver.create('/parent/child', bytes(), { ephemeral: true }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedCoordError(driver.createSequential('/parent', 'x-', bytes()))).code).toBe('INVALID_ARGUMENT');
    expect((await driver.children('/parent')).nodes).toEqual([]);
    expect(store.stats().nodes).toBe(1);
  });

  it('plain nodes list with seq 0n, token 0n and no owner; create() results carry token and owner', async () => {
    const driver = open(freshStore());
    const plain = await driver.create('/l/plain', bytes());
    const eph = await driver.create('/l/eph', bytes(), { ephemeral: true });
    const seq = await driver.createSequential('/l', 'q-', bytes(), { ephemeral: true });

    expect(plain).toEqual({ path: '/l/plain', name: 'plain', seq: 0n, token: plain.token });
    expect('owner' in plain).toBe(false);
    expect(plain.token).toBeGreaterThan(0n);
    expect(eph).toEqual({ path: '/l/eph', name: 'eph', seq: 0n, token: eph.token, owner: driver.session.id });
    expect(eph.token).toBeGreaterThan(plain.token);
    expect(seq.node.owner).toBe(driver.session.id);
    expect(seq.node.seq).toBeGreaterThan(0n);
    expect(seq.node.token).toBeGreaterThan(eph.token);

    const { nodes } = await driver.children('/l');
    expect(nodes).toEqual([
      { path: seq.node.path, name: seq.node.name, seq: seq.node.seq, token: seq.node.token },
      { path: '/l/eph', name: 'eph', seq: 0n, token: 0n },
      { path: '/l/plain', name: 'plain', seq: 0n, token: 0n },
    ]);
    for (const node of nodes) expect('owner' in node).toBe(false);
    expect(seq.siblings).toEqual(nodes);

    // get() does report the owner of an ephemeral node, and none for a plain one.
    expect((await driver.get('/l/eph')).node?.owner).toBe(driver.session.id);
    expect((await driver.get('/l/plain')).node).toEqual({ path: '/l/plain', data: bytes(), version: 0 });
  });

  it('lists sequential children by seq (whatever their prefix), then plain ones by name', async () => {
    const driver = open(freshStore());
    await driver.create('/o/zeta', bytes());
    const s1 = await driver.createSequential('/o', 'b-', bytes());
    await driver.create('/o/alpha', bytes());
    const s2 = await driver.createSequential('/o', 'a-', bytes());
    const s3 = await driver.createSequential('/o', 'b-', bytes());
    await driver.create('/o/Mid', bytes());
    await driver.create('/o/mid', bytes());
    const expected = [s1.node.name, s2.node.name, s3.node.name, 'Mid', 'alpha', 'mid', 'zeta'];
    expect((await driver.children('/o')).nodes.map((n) => n.name)).toEqual(expected);
    expect(s3.siblings.map((n) => n.name)).toEqual([s1.node.name, s2.node.name, s3.node.name, 'alpha', 'zeta']);
    expect(s1.node.seq < s2.node.seq && s2.node.seq < s3.node.seq).toBe(true);
    await driver.delete(s1.node.path);
    const s4 = await driver.createSequential('/o', 'a-', bytes());
    expect(s4.siblings.map((n) => n.name)).toEqual([s2.node.name, s3.node.name, s4.node.name, 'Mid', 'alpha', 'mid', 'zeta']);
  });

  it('isolates data: mutating the bytes passed to create/set or returned by get changes nothing stored', async () => {
    const driver = open(freshStore());
    const input = bytes(1, 2, 3);
    await driver.create('/iso', input);
    input[0] = 99;
    const first = (await driver.get('/iso')).node!.data;
    expect(first).toEqual(bytes(1, 2, 3));
    first[1] = 99;
    expect((await driver.get('/iso')).node!.data).toEqual(bytes(1, 2, 3));

    const update = bytes(4, 5);
    await driver.set('/iso', update);
    update.fill(0);
    expect((await driver.get('/iso')).node!.data).toEqual(bytes(4, 5));

    const seqData = bytes(7);
    const { node } = await driver.createSequential('/isod', 's-', seqData);
    seqData[0] = 0;
    expect((await driver.get(node.path)).node!.data).toEqual(bytes(7));
  });

  // isBytes accepts a Buffer ("a Buffer counts"), but the store copies with `.slice()`, which
  // on a Buffer is a view sharing memory (store.ts #insert, get and set): the stored data
  // aliases the caller's Buffer, and get() hands out a view of the stored data.
  it('isolates data passed or returned as a Buffer', async () => {
    const driver = open(freshStore());
    const buffer = Buffer.from([9, 9]);
    await driver.create('/iso-buf', buffer);
    buffer[0] = 1;
    expect(Array.from((await driver.get('/iso-buf')).node!.data)).toEqual([9, 9]);
    const update = Buffer.from([3, 3]);
    await driver.set('/iso-buf', update);
    update[0] = 4;
    const read = (await driver.get('/iso-buf')).node!.data;
    expect(Array.from(read)).toEqual([3, 3]);
    read[1] = 5;
    expect(Array.from((await driver.get('/iso-buf')).node!.data)).toEqual([3, 3]);
  });
});

describe('MemoryDriver store stats', () => {
  it('requests counts every call that reaches the store (not rejected arguments, not calls after close)', async () => {
    const store = freshStore();
    const driver = open(store);
    expect(store.stats().requests).toBe(0);
    await driver.create('/r/a', bytes());
    await driver.createSequential('/r', 's-', bytes());
    await driver.get('/r/a');
    await driver.get('/r/a', { watch: true });
    await driver.children('/r');
    await driver.children('/r', { watch: true });
    await driver.set('/r/a', bytes(1));
    await driver.delete('/r/a');
    await driver.delete('/r/a'); // absent: still a request
    await rejectedCoordError(driver.set('/r/missing', bytes())); // NO_NODE: still a request
    expect(store.stats().requests).toBe(10);

    await rejectedCoordError(driver.get('relative'));
    await rejectedCoordError(driver.create('/', bytes()));
    await rejectedCoordError(driver.createSequential('/r', 'a/b', bytes()));
    const aborted = new AbortController();
    aborted.abort();
    await rejectedCoordError(driver.get('/r/a', { signal: aborted.signal }));
    expect(store.stats().requests).toBe(10);

    await driver.close();
    await rejectedCoordError(driver.get('/r/a'));
    expect(store.stats().requests).toBe(10);
  });

  it('watchFirings counts watches fired by changes, not cancellations or session ends', async () => {
    const store = freshStore();
    const driver = open(store);
    const other = open(store);
    await driver.create('/w/n', bytes());

    const a = (await driver.get('/w/n', { watch: true })).changed;
    const b = (await other.get('/w/n', { watch: true })).changed;
    const c = (await driver.children('/w', { watch: true })).changed;
    await other.set('/w/n', bytes(1));
    await expect(a).resolves.toBe('changed');
    await expect(b).resolves.toBe('changed');
    expect(store.stats().watchFirings).toBe(2);
    await other.create('/w/m', bytes());
    await expect(c).resolves.toBe('changed');
    expect(store.stats().watchFirings).toBe(3);

    const cancel = new AbortController();
    const cancelled = (await driver.get('/w/n', { watch: true, signal: cancel.signal })).changed;
    expect(store.stats().watches).toBe(1);
    cancel.abort();
    await expect(cancelled).resolves.toBe('cancelled');
    expect(store.stats().watches).toBe(0);
    await other.set('/w/n', bytes(2)); // the cancelled watch is gone: nothing fires
    expect(store.stats().watchFirings).toBe(3);

    const ended = (await driver.children('/w', { watch: true })).changed;
    driver.expireSession();
    await expect(ended).resolves.toBe('session');
    expect(store.stats()).toMatchObject({ watchFirings: 3, watches: 0 });
  });
});

describe('createDriver (src/index.ts)', () => {
  it('picks the store named in the URL and its sessionTimeout', async () => {
    const driver = await createDriver(parseUrl('memory://idx-store?sessionTimeout=500'));
    opened.push(driver);
    expect(driver).toBeInstanceOf(MemoryDriver);
    expect(driver.name).toBe('memory');
    expect(driver.store).toBe(storeNamed('idx-store'));
    expect(driver.session.ttlMs).toBe(500);
    expect(driver.toJSON()).toEqual({ name: 'memory', store: 'idx-store', session: driver.session.id });

    const peer = await createDriver(parseUrl('memory://idx-store'));
    opened.push(peer);
    expect(peer.store).toBe(driver.store);
    expect(peer.session.ttlMs).toBe(DEFAULT_SETTINGS.sessionTimeout);
    await driver.create('/idx', bytes(5), { ephemeral: true });
    expect((await peer.get('/idx')).node?.data).toEqual(bytes(5));
  });

  it('uses the store "default" for memory://', async () => {
    const driver = await createDriver(parseUrl('memory://'));
    opened.push(driver);
    expect(driver.store).toBe(storeNamed('default'));
    expect(driver.store.name).toBe('default');
    const other = await createDriver(parseUrl('memory://not-default'));
    opened.push(other);
    expect(other.store).not.toBe(driver.store);
  });
});
