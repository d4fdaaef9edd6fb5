/**
 * The driver contract (core `Driver`), checked directly: what every recipe relies on.
 */
import { describe, expect, it } from '@jest/globals';
import { MAX_NODE_DATA_BYTES, type SessionStateChange } from '@coord/core';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { errorCode, eventually } from '../util.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined => (data === undefined ? undefined : new TextDecoder().decode(data));

/** Registers the driver-contract cases. */
export function driverCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);

  describe('driver contract', () => {
    it('creates, reads, versions, updates and deletes a node', async () => {
      const t = context();
      const { driver } = await t.open();
      const path = t.path('node');
      const ref = await driver.create(path, bytes('v0'));
      expect(ref).toMatchObject({ path, name: 'node', seq: 0n });
      expect(ref.token > 0n).toBe(true);
      expect(text((await driver.get(path)).node?.data)).toBe('v0');
      expect((await driver.get(path)).node?.version).toBe(0);
      expect(await driver.set(path, bytes('v1'), { version: 0 })).toBe(1);
      expect(await errorCode(() => driver.set(path, bytes('v2'), { version: 0 }))).toBe('BAD_VERSION');
      expect(await errorCode(() => driver.create(path, bytes('again')))).toBe('NODE_EXISTS');
      expect(await errorCode(() => driver.delete(path, { version: 0 }))).toBe('BAD_VERSION');
      expect(await driver.delete(path, { version: 1 })).toBe(true);
      expect(await driver.delete(path)).toBe(false);
      expect((await driver.get(path)).node).toBeUndefined();
      expect(await errorCode(() => driver.set(path, bytes('x')))).toBe('NO_NODE');
    });

    it('refuses to delete a node with children, and tokens of re-created plain nodes grow', async () => {
      const t = context();
      const { driver } = await t.open();
      const first = await driver.create(t.path('dir'), bytes(''));
      await driver.create(t.path('dir/child'), bytes(''));
      expect(await errorCode(() => driver.delete(t.path('dir')))).toBe('NOT_EMPTY');
      await driver.delete(t.path('dir/child'));
      await driver.delete(t.path('dir'));
      const second = await driver.create(t.path('dir'), bytes(''));
      expect(second.token > first.token).toBe(true);
      await driver.delete(t.path('dir'));
    });

    it('requireParent: a create under a missing parent fails NO_NODE and leaves nothing', async () => {
      const t = context();
      const { driver } = await t.open();
      const dir = t.path('dir');
      expect(await errorCode(() => driver.create(`${dir}/child`, bytes(''), { ephemeral: true, requireParent: true }))).toBe('NO_NODE');
      expect(await errorCode(() => driver.createSequential(dir, 'n-', bytes(''), { ephemeral: true, requireParent: true }))).toBe('NO_NODE');
      expect((await driver.children(dir)).nodes).toEqual([]);
      expect((await driver.get(dir)).node).toBeUndefined();
      await driver.create(dir, bytes(''));
      const child = await driver.create(`${dir}/child`, bytes(''), { ephemeral: true, requireParent: true });
      const { node } = await driver.createSequential(dir, 'n-', bytes(''), { ephemeral: true, requireParent: true });
      expect((await driver.children(dir)).nodes.map((n) => n.name).sort()).toEqual([child.name, node.name].sort());
      await driver.delete(child.path);
      await driver.delete(node.path);
      await driver.delete(dir);
      expect(await errorCode(() => driver.create(`${dir}/child`, bytes(''), { requireParent: true }))).toBe('NO_NODE');
    });

    it('orders sequential nodes and their tokens, and lists them with the create', async () => {
      const t = context();
      const { driver } = await t.open();
      const dir = t.path('queue');
      const made = [];
      for (let i = 0; i < 5; i += 1) made.push(await driver.createSequential(dir, `item-${i}-`, bytes(String(i)), { ephemeral: true }));
      for (let i = 1; i < made.length; i += 1) {
        const [before, after] = [made[i - 1]?.node, made[i]?.node];
        expect(after!.seq > before!.seq).toBe(true);
        expect(after!.token > before!.token).toBe(true);
      }
      const last = made[made.length - 1]!;
      expect(last.siblings.map((n) => n.path)).toEqual(made.map((m) => m.node.path));
      expect(last.node.name.startsWith('item-4-')).toBe(true);
      expect(last.node.owner).toBe(driver.session.id);
      const listed = await driver.children(dir);
      expect(listed.nodes.map((n) => n.seq)).toEqual(made.map((m) => m.node.seq));
    });

    it('tokens keep growing when a directory empties and is used again', async () => {
      const t = context();
      const { driver } = await t.open();
      const dir = t.path('lock');
      const a = await driver.createSequential(dir, 'n-', bytes(''), { ephemeral: true });
      await driver.delete(a.node.path);
      const b = await driver.createSequential(dir, 'n-', bytes(''), { ephemeral: true });
      expect(b.node.token > a.node.token).toBe(true);
      expect(b.siblings).toHaveLength(1);
    });

    it('deletes ephemeral nodes when their session closes', async () => {
      const t = context();
      const [owner, observer] = await t.openMany(2);
      const path = t.path('ephemeral');
      await owner!.driver.create(path, bytes('x'), { ephemeral: true });
      const { node, changed } = await observer!.driver.get(path, { watch: true });
      expect(node?.owner).toBe(owner!.session.id);
      await owner!.close();
      expect(await changed).toBe('changed');
      expect((await observer!.driver.get(path)).node).toBeUndefined();
    });

    it('fires a data watch on the next change after the read, with no gap', async () => {
      const t = context();
      const [reader, writer] = await t.openMany(2);
      const path = t.path('watched');
      await writer!.driver.create(path, bytes('a'));
      const first = await reader!.driver.get(path, { watch: true });
      await writer!.driver.set(path, bytes('b'));
      expect(await first.changed).toBe('changed');
      const second = await reader!.driver.get(path, { watch: true });
      expect(text(second.node?.data)).toBe('b');
      await writer!.driver.delete(path);
      expect(await second.changed).toBe('changed');
      const missing = await reader!.driver.get(path, { watch: true });
      expect(missing.node).toBeUndefined();
      await writer!.driver.create(path, bytes('c'));
      expect(await missing.changed).toBe('changed');
      await writer!.driver.delete(path);
    });

    it('fires a child watch when a child comes or goes', async () => {
      const t = context();
      const [reader, writer] = await t.openMany(2);
      const dir = t.path('kids');
      const empty = await reader!.driver.children(dir, { watch: true });
      expect(empty.nodes).toEqual([]);
      const made = await writer!.driver.createSequential(dir, 'k-', bytes(''), { ephemeral: true });
      expect(await empty.changed).toBe('changed');
      const one = await reader!.driver.children(dir, { watch: true });
      expect(one.nodes.map((n) => n.path)).toEqual([made.node.path]);
      await writer!.driver.delete(made.node.path);
      expect(await one.changed).toBe('changed');
    });

    it('drops a watch whose signal aborts (it resolves "cancelled")', async () => {
      const t = context();
      const { driver } = await t.open();
      const controller = new AbortController();
      const { changed } = await driver.get(t.path('never'), { watch: true, signal: controller.signal });
      controller.abort();
      expect(await changed).toBe('cancelled');
      expect(await errorCode(() => driver.get(t.path('never'), { watch: true, signal: controller.signal }))).toBe('ABORTED');
    });

    it('rejects bad paths and oversized data before sending anything', async () => {
      const t = context();
      const { driver } = await t.open();
      for (const bad of ['', 'relative', '/trailing/', '/a//b', '/a/./b', '/a/../b', '/nul\u0000x']) {
        expect(await errorCode(() => driver.get(bad))).toBe('INVALID_ARGUMENT');
        expect(await errorCode(() => driver.create(bad, bytes('')))).toBe('INVALID_ARGUMENT');
      }
      expect(await errorCode(() => driver.createSequential(t.path('d'), 'bad/prefix', bytes('')))).toBe('INVALID_ARGUMENT');
      const big = new Uint8Array(MAX_NODE_DATA_BYTES + 1);
      expect(await errorCode(() => driver.create(t.path('big'), big))).toBe('PAYLOAD_TOO_LARGE');
      expect((await driver.get(t.path('big'))).node).toBeUndefined();
    });

    it('rejects every call after close with CLOSED, and resolves pending watches', async () => {
      const t = context();
      const coord = await t.open();
      const { changed } = await coord.driver.get(t.path('x'), { watch: true });
      const signal = coord.session.signal;
      await coord.close();
      expect(await changed).toBe('session');
      expect(signal.aborted).toBe(true);
      expect(coord.session.state).toBe('closed');
      expect(await errorCode(() => coord.driver.get(t.path('x')))).toBe('CLOSED');
      expect(await errorCode(() => coord.driver.create(t.path('x'), bytes('')))).toBe('CLOSED');
    });

    withHook('expireSession')('ends an expired session for good and opens a fresh one', async () => {
      const t = context();
      const [victim, observer] = await t.openMany(2);
      const changes: SessionStateChange[] = [];
      victim!.on('state', (change) => changes.push(change));
      const old = victim!.session;
      const path = t.path('mine');
      await victim!.driver.create(path, bytes(''), { ephemeral: true });
      const { changed } = await victim!.driver.get(t.path('other'), { watch: true });
      await fixture.faults.expireSession!(t.raw(victim!));
      await eventually(() => old.signal.aborted, 'old session signal aborted');
      expect(old.state).toBe('expired');
      expect(await changed).toBe('session');
      await eventually(async () => (await observer!.driver.get(path)).node === undefined, 'ephemeral node gone');
      await eventually(() => victim!.session !== old && victim!.session.state === 'connected', 'fresh session');
      expect(victim!.session.id).not.toBe(old.id);
      expect(changes.some((c) => c.session === old && c.state === 'expired')).toBe(true);
      await victim!.driver.create(path, bytes(''), { ephemeral: true });
      expect((await observer!.driver.get(path)).node?.owner).toBe(victim!.session.id);
    });
  });

    it('delete and set with a token apply only to the node whose create returned it', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('claim');
      const first = await a!.driver.create(path, bytes('a'), { ephemeral: true });
      expect(await a!.driver.set(path, bytes('a1'), { token: first.token })).toBe(1);
      expect(await a!.driver.delete(path, { token: first.token })).toBe(true);
      // Someone else re-creates the path: a stale token must not reach the new node.
      const second = await b!.driver.create(path, bytes('b'), { ephemeral: true });
      expect(await a!.driver.delete(path, { token: first.token })).toBe(false);
      expect(await errorCode(() => a!.driver.set(path, bytes('a2'), { token: first.token }))).toBe('NO_NODE');
      expect(text((await a!.driver.get(path)).node?.data)).toBe('b');
      expect(await errorCode(() => b!.driver.delete(path, { token: second.token, version: 3 }))).toBe('BAD_VERSION');
      expect(await b!.driver.delete(path, { token: second.token, version: 0 })).toBe(true);
      // A sequential node's listing carries the token of its create.
      const { node } = await a!.driver.createSequential(t.path('q'), 'n-', bytes(''), { ephemeral: true });
      const [listed] = (await a!.driver.children(t.path('q'))).nodes;
      expect(listed?.token).toBe(node.token);
      expect(await a!.driver.delete(node.path, { token: listed!.token })).toBe(true);
    });
}
