// The claim step of the queue, against a minimal in-test driver, to reach the cases a real
// backend produces only under faults (a lost create reply, a session that changed mid-call).
import { describe, expect, it } from '@jest/globals';
import { CoordError, isCoordError, type Driver, type NodeData, type NodeRef, type Session } from '@coord/core';
import { claimItem } from '../src/internal/queue-claim.js';
import type { Item } from '../src/internal/queue-items.js';

const session = { id: 's1', ttlMs: 1000, state: 'connected', signal: new AbortController().signal } satisfies Session;

/** Nodes in a map; `create` can be told to act as a retried create whose first reply was lost. */
class FakeDriver {
  readonly nodes = new Map<string, NodeData>();
  loseReply = false;
  owner = session.id;
  token = 0n;

  async create(path: string, data: Uint8Array, options: { ephemeral?: boolean } = {}): Promise<NodeRef> {
    if (this.nodes.has(path)) throw new CoordError('NODE_EXISTS', `${path} exists`);
    const owner = options.ephemeral === true ? this.owner : undefined;
    this.nodes.set(path, owner === undefined ? { path, data, version: 0 } : { path, data, version: 0, owner });
    // The retry of a create whose reply was lost finds its own node, and says so.
    if (this.loseReply) throw new CoordError('NODE_EXISTS', `${path} exists`);
    this.token += 1n;
    const name = path.slice(path.lastIndexOf('/') + 1);
    return owner === undefined ? { path, name, seq: 0n, token: this.token } : { path, name, seq: 0n, token: this.token, owner };
  }

  async get(path: string): Promise<{ node?: NodeData }> {
    const node = this.nodes.get(path);
    return node === undefined ? {} : { node };
  }

  async delete(path: string): Promise<boolean> {
    return this.nodes.delete(path);
  }
}

const item: Item = { node: { path: '/q/items/msg-2147483648-a-1', name: 'msg-2147483648-a-1', seq: 1n, token: 1n }, priority: 0 };
const claimPath = '/q/claims/msg-2147483648-a-1';

function setup(): { fake: FakeDriver; driver: Driver } {
  const fake = new FakeDriver();
  fake.nodes.set(item.node.path, { path: item.node.path, data: Uint8Array.of(7), version: 0 });
  return { fake, driver: fake as unknown as Driver };
}

describe('claimItem', () => {
  it('claims a free item and returns its bytes', async () => {
    const { fake, driver } = setup();
    const claimed = await claimItem(driver, '/q/claims', item, session, 'queue /q');
    expect([...claimed!.data]).toEqual([7]);
    expect(claimed!.claim.owner).toBe('s1');
    expect(fake.nodes.has(claimPath)).toBe(true);
  });

  it('drops its claim when the item was acked meanwhile', async () => {
    const { fake, driver } = setup();
    fake.nodes.delete(item.node.path);
    expect(await claimItem(driver, '/q/claims', item, session, 'queue /q')).toBeUndefined();
    expect(fake.nodes.has(claimPath)).toBe(false);
  });

  it("leaves another take's claim alone, even one of the same session", async () => {
    const { fake, driver } = setup();
    fake.nodes.set(claimPath, { path: claimPath, data: new TextEncoder().encode('other-attempt'), version: 0, owner: 's1' });
    expect(await claimItem(driver, '/q/claims', item, session, 'queue /q')).toBeUndefined();
    expect(fake.nodes.has(claimPath)).toBe(true);
  });

  it('removes the claim of its own attempt when a retried create answers NODE_EXISTS', async () => {
    const { fake, driver } = setup();
    fake.loseReply = true;
    expect(await claimItem(driver, '/q/claims', item, session, 'queue /q')).toBeUndefined();
    expect(fake.nodes.has(claimPath)).toBe(false);
  });

  it('refuses a claim made on another session (the session changed mid-call) and removes it', async () => {
    const { fake, driver } = setup();
    fake.owner = 's2';
    const error = await claimItem(driver, '/q/claims', item, session, 'queue /q').catch((e: unknown) => e);
    expect(isCoordError(error, 'SESSION_EXPIRED')).toBe(true);
    expect(fake.nodes.has(claimPath)).toBe(false);
  });
});
