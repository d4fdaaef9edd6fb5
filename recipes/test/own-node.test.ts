// The owner discipline shared by every node-creating recipe, against a minimal in-test driver,
// to reach what a real backend does only under faults (a session that changed mid-create, a
// delete that fails as the session dies).
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

  async createSequential(dir: string, prefix: string): Promise<{ node: NodeRef; siblings: NodeRef[] }> {
    const name = `${prefix}0000000001`;
    const node = { path: `${dir}/${name}`, name, seq: 1n, token: 1n, owner: this.owner };
    return { node, siblings: [node] };
  }

  async delete(path: string): Promise<boolean> {
    this.failDelete?.();
    this.deleted.push(path);
    return true;
  }
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
    s1.end(new CoordError('SESSION_EXPIRED', 'gone'));
    await abandonOwnNode(fake as unknown as Driver, node, s1);
    expect(fake.deleted).toEqual([node.path]);
  });

  it('reports a failed delete while the session lives, not once it died meanwhile', async () => {
    const fake = new FakeDriver();
    const s1 = session('s1');
    const node = (await fake.createSequential('/l', 'lock-a-')).node;
    fake.failDelete = () => {
      throw new CoordError('UNAVAILABLE', 'no quorum');
    };
    expect(await codeOf(abandonOwnNode(fake as unknown as Driver, node, s1))).toBe('UNAVAILABLE');
    fake.failDelete = () => {
      s1.end(new CoordError('SESSION_EXPIRED', 'gone'));
      throw new CoordError('SESSION_EXPIRED', 'gone');
    };
    expect(await codeOf(abandonOwnNode(fake as unknown as Driver, node, s1))).toBe('resolved');
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
