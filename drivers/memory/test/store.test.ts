import { describe, it, expect, afterEach } from '@jest/globals';
import { CoordError, DEFAULT_SETTINGS, MAX_NODE_DATA_BYTES, isCoordError, type DriverSettings } from '@coord/core';
import { MemoryDriver } from '../src/driver.js';
import { MemoryStore, storeNamed, type Watcher } from '../src/store.js';
import { thrownCoordError } from '@coord/testing';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function settings(sessionTimeout: number): DriverSettings {
  return { ...DEFAULT_SETTINGS, sessionTimeout };
}

/** A watcher that records what it was told. */
function recorder(): Watcher & { events: string[] } {
  const events: string[] = [];
  return { events, fire: (event) => void events.push(event) };
}

// Every store session opened here is closed after its test, so no store timer is left.
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let counter = 0;
/** A fresh, unshared store. */
function freshStore(): MemoryStore {
  counter += 1;
  return new MemoryStore(`store-test-${counter}`);
}

/** Opens a store session that is closed after the test. */
function openSession(store: MemoryStore, ttlMs = 10_000, onExpired: () => void = () => undefined): string {
  const id = store.openSession(ttlMs, onExpired);
  cleanups.push(() => store.closeSession(id));
  return id;
}

function driverOn(store: MemoryStore, ttl = 10_000): MemoryDriver {
  const driver = new MemoryDriver(store, settings(ttl));
  cleanups.push(() => driver.close());
  return driver;
}

describe('storeNamed: memory://name sharing', () => {
  it('returns one instance per name', () => {
    const a = storeNamed('shared-a');
    expect(storeNamed('shared-a')).toBe(a);
    expect(a.name).toBe('shared-a');
    expect(storeNamed('shared-b')).not.toBe(a);
    expect(storeNamed('shared-b').name).toBe('shared-b');
  });

  it("two drivers on storeNamed('x') see each other's nodes, watches and ephemerals", async () => {
    const one = driverOn(storeNamed('x'));
    const two = driverOn(storeNamed('x'));
    expect(one.store).toBe(two.store);
    expect(one.session.id).not.toBe(two.session.id);

    await one.create('/shared/plain', text('from one'));
    const read = await two.get('/shared/plain');
    expect(new TextDecoder().decode(read.node?.data)).toBe('from one');

    const { changed } = await two.children('/shared', { watch: true });
    const eph = await one.create('/shared/eph', text('e'), { ephemeral: true });
    await expect(changed).resolves.toBe('changed');
    expect((await two.get('/shared/eph')).node?.owner).toBe(one.session.id);
    expect(eph.owner).toBe(one.session.id);
    expect((await two.children('/shared')).nodes.map((n) => n.name)).toEqual(['eph', 'plain']);

    await two.set('/shared/plain', text('from two'));
    expect(new TextDecoder().decode((await one.get('/shared/plain')).node?.data)).toBe('from two');

    await one.close();
    expect((await two.get('/shared/eph')).node).toBeUndefined();
    await two.delete('/shared/plain');
  });

  it('a driver on another store sees none of them', async () => {
    const one = driverOn(storeNamed('y1'));
    const other = driverOn(storeNamed('y2'));
    await one.create('/only-in-y1', bytes(1));
    expect((await other.get('/only-in-y1')).node).toBeUndefined();
    expect((await other.children('/')).nodes).toEqual([]);
    await other.create('/only-in-y1', bytes(2)); // no NODE_EXISTS: a different tree
    expect((await one.get('/only-in-y1')).node?.data).toEqual(bytes(1));
    await one.delete('/only-in-y1');
    await other.delete('/only-in-y1');
  });

  it('a driver on a new MemoryStore with a used name is still separate', async () => {
    const named = driverOn(storeNamed('z'));
    const unregistered = driverOn(new MemoryStore('z'));
    await named.create('/n', bytes());
    expect((await unregistered.get('/n')).node).toBeUndefined();
    await named.delete('/n');
  });
});

describe('MemoryStore sessions', () => {
  it('opens sessions with distinct ids naming the store', () => {
    const store = freshStore();
    const a = openSession(store);
    const b = openSession(store);
    expect(a).not.toBe(b);
    expect(a.startsWith(`${store.name}:`)).toBe(true);
    expect(store.hasSession(a)).toBe(true);
    expect(store.stats().sessions).toBe(2);
  });

  it('expireSession() tells the owner synchronously, before its ephemeral nodes go', () => {
    const store = freshStore();
    const seen: { nodeThere: boolean; sessionThere: boolean }[] = [];
    const id = openSession(store, 10_000, () =>
      seen.push({ nodeThere: store.get('/e') !== undefined, sessionThere: store.hasSession(id) }),
    );
    store.create('/e', bytes(1), id);
    const watcher = recorder();
    store.watchNode('/e', watcher);
    store.expireSession(id);
    expect(seen).toEqual([{ nodeThere: true, sessionThere: false }]);
    expect(watcher.events).toEqual(['changed']);
    expect(store.get('/e')).toBeUndefined();
    expect(store.hasSession(id)).toBe(false);
    store.expireSession(id); // unknown now: no-op
    expect(seen).toHaveLength(1);
  });

  it('closeSession() deletes ephemerals without calling onExpired', () => {
    const store = freshStore();
    let told = 0;
    const id = openSession(store, 10_000, () => (told += 1));
    store.create('/c1', bytes(), id);
    store.createSequential('/dir', 'x-', bytes(), id);
    store.create('/keep', bytes(), undefined);
    expect(store.stats()).toMatchObject({ sessions: 1, nodes: 3, ephemeralNodes: 2 });
    store.closeSession(id);
    store.closeSession(id);
    expect(told).toBe(0);
    expect(store.stats()).toMatchObject({ sessions: 0, nodes: 1, ephemeralNodes: 0 });
    expect(store.get('/keep')).toBeDefined();
    store.delete('/keep', undefined);
  });

  it('a session expires by itself ttl after its last renewal', async () => {
    const store = freshStore();
    let expiredAt = 0;
    const start = performance.now();
    const id = openSession(store, 150, () => (expiredAt = performance.now()));
    store.create('/ttl', bytes(), id);
    await pause(60);
    expect(store.renewSession(id)).toBe(true);
    const renewedAt = performance.now();
    await pause(60);
    expect(store.hasSession(id)).toBe(true);
    await pause(300);
    expect(store.hasSession(id)).toBe(false);
    expect(store.get('/ttl')).toBeUndefined();
    expect(expiredAt - renewedAt).toBeGreaterThanOrEqual(140);
    expect(expiredAt - start).toBeGreaterThan(150);
  });

  it('stopRenewing(): renewals stop reaching the store and it expires the session at its TTL', async () => {
    const store = freshStore();
    let told = 0;
    const id = openSession(store, 120, () => (told += 1));
    store.stopRenewing(id);
    expect(store.renewSession(id)).toBe(false);
    store.abandonSession(id); // cannot be heard during the "partition"
    expect(store.hasSession(id)).toBe(true);
    await pause(250);
    expect(store.hasSession(id)).toBe(false);
    expect(told).toBe(1);
    store.stopRenewing(id); // unknown id: no-op
  });

  it('abandonSession() closes a reachable session (without onExpired)', () => {
    const store = freshStore();
    let told = 0;
    const id = openSession(store, 10_000, () => (told += 1));
    store.create('/ab', bytes(), id);
    store.abandonSession(id);
    expect(store.hasSession(id)).toBe(false);
    expect(store.get('/ab')).toBeUndefined();
    expect(told).toBe(0);
    store.abandonSession('no-such-session');
  });

  it('renewing or using a dead session is SESSION_EXPIRED', () => {
    const store = freshStore();
    const id = openSession(store);
    store.closeSession(id);
    expect(thrownCoordError(() => store.renewSession(id)).code).toBe('SESSION_EXPIRED');
    expect(thrownCoordError(() => store.create('/dead', bytes(), id)).code).toBe('SESSION_EXPIRED');
    expect(thrownCoordError(() => store.createSequential('/d', 'p-', bytes(), id)).code).toBe('SESSION_EXPIRED');
    expect(store.get('/dead')).toBeUndefined();
    expect(store.stats().nodes).toBe(0);
  });
});

describe('MemoryStore nodes', () => {
  it('create/get/set/delete with versions, NODE_EXISTS, NO_NODE and BAD_VERSION', () => {
    const store = freshStore();
    const ref = store.create('/a', bytes(1), undefined);
    expect(ref).toEqual({ path: '/a', name: 'a', seq: 0n, token: ref.token });
    expect(thrownCoordError(() => store.create('/a', bytes(), undefined)).code).toBe('NODE_EXISTS');
    expect(store.get('/a')).toEqual({ data: bytes(1), version: 0, owner: undefined });
    expect(store.set('/a', bytes(2), undefined)).toBe(1);
    expect(store.set('/a', bytes(3), 1)).toBe(2);
    expect(thrownCoordError(() => store.set('/a', bytes(4), 1)).code).toBe('BAD_VERSION');
    expect(thrownCoordError(() => store.set('/missing', bytes(), undefined)).code).toBe('NO_NODE');
    expect(thrownCoordError(() => store.delete('/a', 0)).code).toBe('BAD_VERSION');
    expect(store.delete('/a', 2)).toBe(true);
    expect(store.delete('/a', undefined)).toBe(false);
    expect(store.delete('/a', 7)).toBe(false);
  });

  it('token: delete and set apply only to the node whose create returned the token', () => {
    const store = freshStore();
    const first = store.create('/claim', bytes(1), undefined);
    expect(store.set('/claim', bytes(2), undefined, first.token)).toBe(1);
    expect(store.delete('/claim', undefined, first.token)).toBe(true);
    const second = store.create('/claim', bytes(3), undefined);
    expect(second.token > first.token).toBe(true);
    // A stale token names the deleted node: as if it were missing, and the new node stays.
    expect(store.delete('/claim', undefined, first.token)).toBe(false);
    expect(thrownCoordError(() => store.set('/claim', bytes(4), undefined, first.token)).code).toBe('NO_NODE');
    expect(store.get('/claim')).toEqual({ data: bytes(3), version: 0, owner: undefined });
    // The token is checked before the version; both must match.
    expect(store.delete('/claim', 5, first.token)).toBe(false);
    expect(thrownCoordError(() => store.delete('/claim', 5, second.token)).code).toBe('BAD_VERSION');
    expect(store.delete('/claim', 0, second.token)).toBe(true);
    expect(store.delete('/claim', undefined, second.token)).toBe(false);
  });

  it('token: a sequential node is named by the token of its create and of its listing', () => {
    const store = freshStore();
    const { node } = store.createSequential('/q', 'n-', bytes(), undefined);
    const [listed] = store.children('/q');
    expect(listed?.token).toBe(node.token);
    expect(store.delete(node.path, undefined, node.token + 1n)).toBe(false);
    expect(store.delete(node.path, undefined, listed?.token)).toBe(true);
  });

  it('token: must be a positive bigint (INVALID_ARGUMENT), checked before anything else', () => {
    const store = freshStore();
    store.create('/a', bytes(), undefined);
    expect(thrownCoordError(() => store.delete('/a', undefined, 0n)).code).toBe('INVALID_ARGUMENT');
    expect(thrownCoordError(() => store.delete('/missing', undefined, -1n)).code).toBe('INVALID_ARGUMENT');
    expect(thrownCoordError(() => store.set('/a', bytes(), undefined, 0n)).code).toBe('INVALID_ARGUMENT');
    expect(thrownCoordError(() => store.delete('/a', undefined, 1 as unknown as bigint)).code).toBe('INVALID_ARGUMENT');
    expect(store.get('/a')).toBeDefined();
  });

  it('requireParent: NO_NODE unless the parent is a node (an implied parent does not count; the root does)', () => {
    const store = freshStore();
    expect(thrownCoordError(() => store.create('/g/m', bytes(), undefined, true)).code).toBe('NO_NODE');
    expect(thrownCoordError(() => store.createSequential('/g', 'n-', bytes(), undefined, true)).code).toBe('NO_NODE');
    expect(store.stats().nodes).toBe(0);
    store.create('/top', bytes(), undefined, true); // under the root
    store.create('/i/x', bytes(), undefined); // /i is only implied
    expect(thrownCoordError(() => store.create('/i/y', bytes(), undefined, true)).code).toBe('NO_NODE');
    store.create('/g', bytes(), undefined);
    expect(store.create('/g/m', bytes(), undefined, true).path).toBe('/g/m');
    expect(store.createSequential('/g', 'n-', bytes(), undefined, true).siblings).toHaveLength(2);
    // NODE_EXISTS wins over NO_NODE (the node itself is checked first, as on ZooKeeper).
    expect(thrownCoordError(() => store.create('/g/m', bytes(), undefined, true)).code).toBe('NODE_EXISTS');
  });

  it('refuses to delete a node with descendants, also through implied parents (NOT_EMPTY)', () => {
    const store = freshStore();
    store.create('/p', bytes(), undefined);
    store.create('/p/q/r', bytes(), undefined); // /p/q is only implied
    const e = thrownCoordError(() => store.delete('/p', undefined));
    expect(e.code).toBe('NOT_EMPTY');
    expect(store.children('/p')).toEqual([]); // the implied /p/q is not listed
    expect(store.delete('/p/q/r', undefined)).toBe(true);
    expect(store.delete('/p', undefined)).toBe(true);
    expect(store.stats().nodes).toBe(0);
  });

  it('checks data: bytes only, at most MAX_NODE_DATA_BYTES', () => {
    const store = freshStore();
    expect(thrownCoordError(() => store.create('/s', 'text' as unknown as Uint8Array, undefined)).code).toBe('INVALID_ARGUMENT');
    expect(thrownCoordError(() => store.create('/s', [1, 2] as unknown as Uint8Array, undefined)).code).toBe('INVALID_ARGUMENT');
    const big = thrownCoordError(() => store.create('/s', new Uint8Array(MAX_NODE_DATA_BYTES + 1), undefined));
    expect(big.code).toBe('PAYLOAD_TOO_LARGE');
    store.create('/s', new Uint8Array(MAX_NODE_DATA_BYTES), undefined);
    expect(thrownCoordError(() => store.set('/s', new Uint8Array(MAX_NODE_DATA_BYTES + 1), undefined)).code).toBe('PAYLOAD_TOO_LARGE');
    expect(store.get('/s')?.data.byteLength).toBe(MAX_NODE_DATA_BYTES);
    store.create('/buf', Buffer.from('ok'), undefined);
    expect(store.stats().nodes).toBe(2);
  });

  it('copies data in and out', () => {
    const store = freshStore();
    const input = bytes(1, 2, 3);
    store.create('/iso', input, undefined);
    input[0] = 99;
    const out = store.get('/iso')?.data;
    expect(out).toEqual(bytes(1, 2, 3));
    out![1] = 99;
    expect(store.get('/iso')?.data).toEqual(bytes(1, 2, 3));
    const next = bytes(7);
    store.set('/iso', next, undefined);
    next[0] = 8;
    expect(store.get('/iso')?.data).toEqual(bytes(7));
  });

  it('names sequential nodes prefix + 10 digits, with a store-wide increasing seq that equals the token', () => {
    const store = freshStore();
    const first = store.createSequential('/q', 'job-', bytes(), undefined);
    expect(first.node.name).toMatch(/^job-\d{10}$/);
    expect(first.node.name).toBe(`job-${first.node.seq.toString().padStart(10, '0')}`);
    expect(first.node.token).toBe(first.node.seq);
    store.create('/elsewhere', bytes(), undefined); // consumes a revision too
    const other = store.createSequential('/other', '', bytes(), undefined);
    const second = store.createSequential('/q', 'job-', bytes(), undefined);
    expect(other.node.seq).toBeGreaterThan(first.node.seq);
    expect(second.node.seq).toBeGreaterThan(other.node.seq);
    expect(other.node.name).toMatch(/^\d{10}$/);
    const root = store.createSequential('/', 'top-', bytes(), undefined);
    expect(root.node.path).toBe(`/${root.node.name}`);
    expect(second.siblings.map((n) => n.name)).toEqual([first.node.name, second.node.name]);
  });

  it('gives a re-created plain node a greater token', () => {
    const store = freshStore();
    const a = store.create('/t', bytes(), undefined);
    store.delete('/t', undefined);
    const b = store.create('/t', bytes(), undefined);
    expect(b.token).toBeGreaterThan(a.token);
  });

  it('refuses children under an ephemeral node (INVALID_ARGUMENT)', () => {
    const store = freshStore();
    const id = openSession(store);
    store.create('/eph', bytes(), id);
    const e = thrownCoordError(() => store.create('/eph/child', bytes(), undefined));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('/eph is ephemeral and cannot have children');
    expect(thrownCoordError(() => store.createSequential('/eph', 'x-', bytes(), id)).code).toBe('INVALID_ARGUMENT');
    expect(store.children('/eph')).toEqual([]);
  });

  // The store's contract (store.ts header): "ephemeral nodes cannot have children". A child
  // created first (its parent only implied) lets an ephemeral node be created over it, and
  // that ephemeral then has a child. ZooKeeper would refuse the create (the parent exists).
  it('refuses an ephemeral node over existing children', () => {
    const store = freshStore();
    const id = openSession(store);
    store.create('/over/child', bytes(), undefined);
    cleanups.push(() => void store.delete('/over/child', undefined));
    let error: unknown;
    try {
      store.create('/over', bytes(), id);
    } catch (e) {
      error = e;
    }
    expect(isCoordError(error)).toBe(true);
  });
});

describe('MemoryStore watches', () => {
  it('a node watch fires once on create, set or delete, and counts in watchFirings', () => {
    const store = freshStore();
    const onCreate = recorder();
    store.watchNode('/w', onCreate);
    expect(store.stats().watches).toBe(1);
    store.create('/w', bytes(), undefined);
    expect(onCreate.events).toEqual(['changed']);
    store.set('/w', bytes(1), undefined); // one-shot
    expect(onCreate.events).toEqual(['changed']);

    const onSet = recorder();
    const onSet2 = recorder();
    store.watchNode('/w', onSet);
    store.watchNode('/w', onSet2);
    store.set('/w', bytes(2), undefined);
    expect(onSet.events).toEqual(['changed']);
    expect(onSet2.events).toEqual(['changed']);

    const onDelete = recorder();
    store.watchNode('/w', onDelete);
    store.delete('/w', undefined);
    expect(onDelete.events).toEqual(['changed']);
    expect(store.stats()).toMatchObject({ watchFirings: 4, watches: 0 });
  });

  it('a child watch fires on a child create or delete, not on a child set or a grandchild', () => {
    const store = freshStore();
    store.create('/d/c', bytes(), undefined);
    const w = recorder();
    store.watchChildren('/d', w);
    store.set('/d/c', bytes(1), undefined);
    store.create('/d/c/g', bytes(), undefined);
    expect(w.events).toEqual([]);
    store.delete('/d/c/g', undefined);
    store.delete('/d/c', undefined);
    expect(w.events).toEqual(['changed']);
    expect(store.stats().watches).toBe(0);
  });

  it('the disarm function removes a watch (idempotent) and a disarmed watch never fires or counts', () => {
    const store = freshStore();
    const w = recorder();
    const other = recorder();
    const disarm = store.watchNode('/x', w);
    store.watchNode('/x', other);
    const disarmChildren = store.watchChildren('/', recorder());
    expect(store.stats().watches).toBe(3);
    disarm();
    disarm();
    disarmChildren();
    expect(store.stats().watches).toBe(1);
    store.create('/x', bytes(), undefined);
    expect(w.events).toEqual([]);
    expect(other.events).toEqual(['changed']);
    expect(store.stats()).toMatchObject({ watchFirings: 1, watches: 0 });
  });

  it('counts requests only through countRequest()', () => {
    const store = freshStore();
    store.create('/r', bytes(), undefined);
    store.get('/r');
    expect(store.stats().requests).toBe(0);
    store.countRequest();
    store.countRequest();
    expect(store.stats().requests).toBe(2);
  });
});
