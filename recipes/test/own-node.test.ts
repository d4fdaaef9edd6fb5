// The owner discipline shared by every node-creating recipe, against a minimal in-test driver,
// to reach what a real backend does only under faults (a session that changed mid-create, a
// delete that fails as the session dies, a create whose reply was lost).
import { describe, expect, it } from '@jest/globals';
import { CoordError, isCoordError, type Driver, type NodeRef, type Session } from '@coord/core';
import { abandonOwnNode, createOwnSequential, liveSession, toError } from '../src/internal/own-node.js';

function session(id: string): Session & { end(reason: unknown): void } {
  const controller = new AbortController();
  return { id, ttlMs: 1000, state: 'connected', signal: controller.signal, end: (reason) => controller.abort(reason) };
}

/** Records the requests; `createSequential` makes nodes owned by `owner`. */
class FakeDriver {
  readonly deleted: string[] = [];
  owner = 's1';
  failDelete: (() => void) | undefined;
  session: Session = session('s1');

  failCreate: CoordError | undefined;
  listing: NodeRef[] = [];
  listed = 0;

  async createSequential(dir: string, prefix: string): Promise<{ node: NodeRef; siblings: NodeRef[] }> {
    if (this.failCreate !== undefined) throw this.failCreate;
    const name = `${prefix}0000000001`;
    const node = { path: `${dir}/${name}`, name, seq: 1n, token: 1n, owner: this.owner };
    return { node, siblings: [node] };
  }

  async children(): Promise<{ nodes: NodeRef[] }> {
    this.listed += 1;
    return { nodes: this.listing };
  }

  readonly tokens: (bigint | undefined)[] = [];

  async delete(path: string, options?: { token?: bigint }): Promise<boolean> {
    this.failDelete?.();
    this.deleted.push(path);
    this.tokens.push(options?.token);
    return true;
  }
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isCoordError(error) ? error.code : 'not a CoordError';
  }
  return 'resolved';
}

describe('own node', () => {
  it('keeps a node created by our session, with the listing', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const created = await createOwnSequential(fake as unknown as Driver, '/l', 'lock-a-', new Uint8Array(), s1, 'lock /l');
    expect(created.node.name).toBe('lock-a-0000000001');
    expect(created.siblings).toHaveLength(1);
    expect(fake.deleted).toEqual([]);
  });

  it('deletes a node that belongs to another session and rejects SESSION_EXPIRED', async () => {
    const fake = new FakeDriver();
    fake.owner = 's2'; // the session changed during the create
    const s1 = session('s1');
    expect(await codeOf(createOwnSequential(fake as unknown as Driver, '/l', 'lock-a-', new Uint8Array(), s1, 'lock /l'))).toBe('SESSION_EXPIRED');
    expect(fake.deleted).toEqual(['/l/lock-a-0000000001']);
  });

  it('abandons a node with one delete, none once the session is dead', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const node = (await fake.createSequential('/l', 'lock-a-')).node;
    await abandonOwnNode(fake as unknown as Driver, node, s1);
    expect(fake.deleted).toEqual([node.path]);
    expect(fake.tokens).toEqual([node.token]); // conditional: never a node re-created at its path
    s1.end(new CoordError('SESSION_EXPIRED', 'gone'));
    await abandonOwnNode(fake as unknown as Driver, node, s1);
    expect(fake.deleted).toEqual([node.path]);
  });

  it('retries a delete that fails while the session lives in the background, not the caller', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const node = (await fake.createSequential('/l', 'lock-a-')).node;
    let failures = 2;
    fake.failDelete = () => {
      if (failures === 0) return;
      failures -= 1;
      throw new CoordError('UNAVAILABLE', 'no quorum');
    };
    expect(await codeOf(abandonOwnNode(fake as unknown as Driver, node, s1))).toBe('resolved');
    expect(fake.deleted).toEqual([]);
    await eventually(() => fake.deleted.length === 1); // after 100 ms, then 200 ms more
    expect(fake.deleted).toEqual([node.path]);
    expect(failures).toBe(0);
  });

  it('stops retrying once the session ends, leaving no timer behind', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const node = (await fake.createSequential('/l', 'lock-a-')).node;
    let attempts = 0;
    fake.failDelete = () => {
      attempts += 1;
      throw new CoordError('UNAVAILABLE', 'no quorum');
    };
    await abandonOwnNode(fake as unknown as Driver, node, s1);
    await eventually(() => attempts === 2); // the first try and one retry
    s1.end(new CoordError('CLOSED', 'closed'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(attempts).toBe(2);
    expect(fake.deleted).toEqual([]);
  });

  it('deletes what a create of unknown outcome may have made, found by its prefix', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const ghost = { path: '/l/lock-a-0000000007', name: 'lock-a-0000000007', seq: 7n, token: 7n };
    const other = { path: '/l/lock-b-0000000006', name: 'lock-b-0000000006', seq: 6n, token: 6n };
    fake.listing = [other, ghost];
    fake.failCreate = new CoordError('CONNECTION_LOSS', 'reply lost');
    expect(await codeOf(createOwnSequential(fake as unknown as Driver, '/l', 'lock-a-', new Uint8Array(), s1, 'lock /l'))).toBe('CONNECTION_LOSS');
    expect(fake.deleted).toEqual([ghost.path]);
    expect(fake.tokens).toEqual([ghost.token]);
  });

  it('does not look for a node after a create that surely made none, or once the session is dead', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    fake.listing = [{ path: '/l/lock-a-0000000007', name: 'lock-a-0000000007', seq: 7n, token: 7n }];
    fake.failCreate = new CoordError('NO_NODE', 'no parent');
    expect(await codeOf(createOwnSequential(fake as unknown as Driver, '/l', 'lock-a-', new Uint8Array(), s1, 'lock /l'))).toBe('NO_NODE');
    s1.end(new CoordError('SESSION_EXPIRED', 'gone'));
    fake.failCreate = new CoordError('CONNECTION_LOSS', 'reply lost');
    expect(await codeOf(createOwnSequential(fake as unknown as Driver, '/l', 'lock-a-', new Uint8Array(), s1, 'lock /l'))).toBe('CONNECTION_LOSS');
    expect(fake.listed).toBe(0);
    expect(fake.deleted).toEqual([]);
  });

  it('captures a live session and throws the end reason of a dead one', () => {
    const fake = new FakeDriver();
    expect(liveSession(fake as unknown as Driver).id).toBe('s1');
    const dead = session('s1');
    dead.end(new CoordError('CLOSED', 'closed'));
    fake.session = dead;
    expect(() => liveSession(fake as unknown as Driver)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('turns anything into a CoordError, keeping CoordErrors as they are', () => {
    const error = new CoordError('TIMEOUT', 'late');
    expect(toError(error)).toBe(error);
    const wrapped = toError(new Error('boom'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBeInstanceOf(Error);
  });
});
