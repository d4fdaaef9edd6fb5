/**
 * Group membership (Tooz semantics): create/delete/join/leave/update/members, every error
 * code, exact `groups()` next to other recipes, watches that miss nothing, session loss and
 * rejoin. Groups are global (one reserved root), so each test names its groups after its own
 * prefix and compares `groups()` against what was there before it.
 */
import { describe, expect, it } from '@jest/globals';
import { rawCodec, type Coordinator, type Group, type GroupEvent, type Membership, type RejoinOutcome } from 'coord';
import { canLoseSession, type DriverFixture, type SessionLoss } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually as poll, rejectionCode } from '../util.js';

/** Waits for what should happen, generously (the suite also runs on real backends). */
const eventually = (condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> => poll(condition, what, ms);

/** Records every event of one watch, in the background. */
class Recorder<T> {
  readonly events: GroupEvent<T>[] = [];
  readonly #controller = new AbortController();
  /** Settles when the watch ends: undefined, or the error it threw. */
  readonly done: Promise<unknown>;

  constructor(group: Group<T>) {
    this.done = (async () => {
      for await (const event of group.watch({ signal: this.#controller.signal })) this.events.push(event);
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  /** The event types seen for one member, in order. */
  of(member: string): string[] {
    return this.events.filter((event) => event.member === member).map((event) => event.type);
  }

  count(member: string, type: GroupEvent<T>['type']): number {
    return this.of(member).filter((seen) => seen === type).length;
  }

  /** Aborts the watch and returns how it ended (undefined: cleanly). */
  async stop(): Promise<unknown> {
    this.#controller.abort();
    return this.done;
  }
}

/** Registers the group cases. */
export function groupCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const withLoss = (how: SessionLoss) => (canLoseSession(fixture, how) ? it : it.skip);
  /** A group name unique to this test (and run): groups are global, not under the test prefix. */
  const groupName = (t: TestContext, suffix = 'group'): string => `${t.prefix.slice(1).replaceAll('/', '-')}-${suffix}`;
  const pending = (t: TestContext, coord: Coordinator): number => t.counting(coord).counts.watchesPending;
  /** Waits until a watch on `coord` has done its first reads (marker and member list armed). */
  const armed = (t: TestContext, coord: Coordinator, atLeast = 2) => eventually(() => pending(t, coord) >= atLeast, 'watch armed');
  const requestsOf = (t: TestContext, coord: Coordinator) => ({ ...t.counting(coord).counts });

  describe('group', () => {
    it('create, join, update, members, leave and delete (one request each)', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const name = groupName(t);
      const group = a!.group<{ slots: number }>(name);
      let before = requestsOf(t, a!);
      await group.create();
      expect(requestsOf(t, a!).create - before.create).toBe(1);
      expect(await b!.groups()).toContain(name);
      before = requestsOf(t, a!);
      const one = await group.join('one', { capabilities: { slots: 4 } });
      expect(requestsOf(t, a!).create - before.create).toBe(1);
      expect(requestsOf(t, a!).get - before.get).toBe(0);
      const two = await b!.group<{ slots: number }>(name).join('two', { capabilities: { slots: 1 } });
      expect(one).toMatchObject({ group: name, memberId: 'one', capabilities: { slots: 4 }, left: false });
      expect(one.token > 0n).toBe(true);
      expect(one.signal.aborted).toBe(false);
      expect(await b!.group(name).members()).toEqual(new Map([['one', { slots: 4 }], ['two', { slots: 1 }]]));
      before = requestsOf(t, a!);
      await one.update({ slots: 8 });
      expect(requestsOf(t, a!).set - before.set).toBe(1);
      expect(one.capabilities).toEqual({ slots: 8 });
      expect((await b!.group(name).members()).get('one')).toEqual({ slots: 8 });
      before = requestsOf(t, a!);
      await one.leave();
      expect(requestsOf(t, a!).delete - before.delete).toBe(1);
      await one.leave(); // idempotent
      expect(one.left).toBe(true);
      expect(one.signal.aborted).toBe(true);
      expect(await a!.group(name).members()).toEqual(new Map([['two', { slots: 1 }]]));
      await two.leave();
      expect(await a!.group(name).members()).toEqual(new Map());
      await group.delete();
      expect(await b!.groups()).not.toContain(name);
    });

    it('fails with GROUP_EXISTS, GROUP_NOT_FOUND, GROUP_NOT_EMPTY and MEMBER_EXISTS', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const name = groupName(t);
      expect(await rejectionCode(a!.group(name).delete())).toBe('GROUP_NOT_FOUND');
      expect(await rejectionCode(a!.group(name).members())).toBe('GROUP_NOT_FOUND');
      expect(await rejectionCode(a!.group(name).join('m'))).toBe('GROUP_NOT_FOUND');
      expect(await a!.groups()).not.toContain(name);
      await a!.group(name).create();
      expect(await rejectionCode(b!.group(name).create())).toBe('GROUP_EXISTS');
      const member = await a!.group(name).join('m');
      expect(await rejectionCode(b!.group(name).join('m'))).toBe('MEMBER_EXISTS');
      expect(await rejectionCode(a!.group(name).join('m'))).toBe('MEMBER_EXISTS'); // also from its own coordinator
      expect(await rejectionCode(b!.group(name).delete())).toBe('GROUP_NOT_EMPTY');
      expect([...(await b!.group(name).members()).keys()]).toEqual(['m']);
      await member.leave();
      await b!.group(name).delete();
      expect(await rejectionCode(b!.group(name).delete())).toBe('GROUP_NOT_FOUND');
    });

    it('join after delete fails with GROUP_NOT_FOUND and leaves no node (the group stays gone)', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      await a!.group(name).delete();
      expect(await rejectionCode(b!.group(name).join('late', { capabilities: 'x' }))).toBe('GROUP_NOT_FOUND');
      const marker = `/.coord/groups/${name}`;
      expect((await b!.driver.children(marker)).nodes).toEqual([]);
      expect(await b!.groups()).not.toContain(name);
      expect(await rejectionCode(b!.group(name).members())).toBe('GROUP_NOT_FOUND');
      await a!.group(name).create(); // the name is free again
      await a!.group(name).delete();
    });

    it('joins racing a delete: either the delete fails GROUP_NOT_EMPTY and every join succeeds, or no join does', async () => {
      const t = context();
      const coords = await t.openMany(5);
      const name = groupName(t);
      const outcomes = { deleted: 0, kept: 0 };
      for (let round = 0; round < 12; round += 1) {
        await coords[0]!.group(name).create();
        // The delete is sent after `round % 6` of the joins, so both outcomes occur.
        const joins: Promise<Membership<unknown> | string | undefined>[] = [];
        let deletion: Promise<string | undefined> | undefined;
        coords.forEach((coord, i) => {
          if (i === round % 6) deletion = coords[1]!.group(name).delete().then(() => 'deleted', (error: { code?: string }) => error.code);
          joins.push(coord.group(name).join(`m${i}`).then((m) => m, (error: { code?: string }) => error.code));
        });
        deletion ??= coords[1]!.group(name).delete().then(() => 'deleted', (error: { code?: string }) => error.code);
        const [results, deleted] = await Promise.all([Promise.all(joins), deletion]);
        if (deleted === 'deleted') {
          outcomes.deleted += 1;
          expect(results).toEqual(coords.map(() => 'GROUP_NOT_FOUND'));
          expect((await coords[0]!.driver.children(`/.coord/groups/${name}`)).nodes).toEqual([]);
          expect(await coords[0]!.groups()).not.toContain(name);
        } else {
          outcomes.kept += 1;
          expect(deleted).toBe('GROUP_NOT_EMPTY');
          const memberships = results as Membership<unknown>[];
          expect(memberships.every((m) => typeof m === 'object')).toBe(true);
          expect([...(await coords[2]!.group(name).members()).keys()].sort()).toEqual(coords.map((_, i) => `m${i}`));
          await Promise.all(memberships.map((m) => m.leave()));
          await coords[0]!.group(name).delete();
        }
      }
      expect(outcomes.deleted + outcomes.kept).toBe(12);
    });

    it('groups() lists exactly the groups while locks and members share the namespace', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const names = [groupName(t, 'alpha'), groupName(t, 'beta')];
      const before = await a!.groups();
      for (const name of names) await a!.group(name).create();
      // Locks under the test prefix, one named like a group, and one at a top-level path named like the other.
      const locks = await Promise.all([
        b!.lock(t.path('lock')).acquire(),
        b!.lock(t.path(names[0]!)).acquire(),
        b!.lock(`/${names[1]!}`).acquire(),
        b!.lock(t.path(`groups/${names[1]!}`)).acquire(),
      ]);
      const member = await b!.group(names[0]!).join('member', { capabilities: { role: 'x' } });
      expect(await a!.groups()).toEqual([...before, ...names].sort());
      expect(await a!.group(names[0]!).members()).toEqual(new Map([['member', { role: 'x' }]]));
      expect(await a!.group(names[1]!).members()).toEqual(new Map());
      await member.leave();
      await Promise.all(locks.map((lock) => lock.release()));
      for (const name of names) await a!.group(name).delete();
      expect(await a!.groups()).toEqual(before);
    });

    it('rejects bad names, ids and capabilities with INVALID_ARGUMENT, leaving no node', async () => {
      const t = context();
      const coord = await t.open();
      for (const bad of ['', 'a/b', '.', '..', '/x', 'x\u0000y']) expect(await errorCode(() => coord.group(bad))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => coord.group(42 as unknown as string))).toBe('INVALID_ARGUMENT');
      const name = groupName(t);
      await coord.group(name).create();
      for (const bad of ['', 'a/b', '..']) expect(await rejectionCode(coord.group(name).join(bad))).toBe('INVALID_ARGUMENT');
      expect(await rejectionCode(coord.group(name).join('m', { capabilities: 10n }))).toBe('INVALID_ARGUMENT');
      expect(await coord.group(name).members()).toEqual(new Map());
      const member = await coord.group(name).join('m', { capabilities: 1 });
      expect(await rejectionCode(member.update(10n))).toBe('INVALID_ARGUMENT');
      expect(member.capabilities).toBe(1);
      await member.leave();
      await coord.group(name).delete();
    });

    it('carries capabilities through a codec (raw bytes)', async () => {
      const t = context();
      const coord = await t.open();
      const name = groupName(t);
      const group = coord.group(name, { codec: rawCodec });
      await group.create();
      const member = await group.join('bytes', { capabilities: new Uint8Array([0, 10, 255]) });
      const plain = await group.join('none');
      expect(await group.members()).toEqual(new Map([['bytes', new Uint8Array([0, 10, 255])], ['none', new Uint8Array(0)]]));
      await Promise.all([member.leave(), plain.leave()]);
      await group.delete();
    });

    it('a group watch sees every join and leave of 50 members, in order', async () => {
      const t = context();
      const [watcher, ...coords] = await t.openMany(6);
      const name = groupName(t);
      await coords[0]!.group(name).create();
      const recorder = new Recorder<{ i: number }>(watcher!.group(name));
      await armed(t, watcher!);
      const closing = coords[4]!; // its ten members leave by their coordinator closing
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const member = await coords[i % 5]!.group<{ i: number }>(name).join(`m${i}`, { capabilities: { i } });
          await eventually(() => recorder.count(`m${i}`, 'join') === 1, `join of m${i} seen`);
          if (coords[i % 5] !== closing) await member.leave();
        }),
      );
      await closing.close();
      await eventually(() => recorder.events.length === 100, 'every leave seen');
      for (let i = 0; i < 50; i += 1) {
        const events = recorder.events.filter((event) => event.member === `m${i}`);
        expect(events).toEqual([
          { type: 'join', member: `m${i}`, capabilities: { i } },
          { type: 'leave', member: `m${i}`, capabilities: { i } },
        ]);
      }
      expect(await coords[0]!.group(name).members()).toEqual(new Map());
      expect(await recorder.stop()).toBeUndefined();
      await coords[0]!.group(name).delete();
    });

    it('a member that leaves and joins again between two reads shows as leave + join; updates coalesce', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      const group = a!.group<number>(name);
      await group.create();
      let member = await group.join('x', { capabilities: 1 });
      // A hand-driven iterator: the watch re-reads only when asked for the next event.
      const events = w!.group<number>(name).watch()[Symbol.asyncIterator]();
      expect((await events.next()).value).toEqual({ type: 'join', member: 'x', capabilities: 1 });
      await member.leave();
      member = await group.join('x', { capabilities: 2 });
      await member.update(3);
      expect((await events.next()).value).toEqual({ type: 'leave', member: 'x', capabilities: 1 });
      expect((await events.next()).value).toEqual({ type: 'join', member: 'x', capabilities: 3 });
      await member.update(4);
      await member.update(5);
      expect((await events.next()).value).toEqual({ type: 'update', member: 'x', capabilities: 5 });
      await events.return?.();
      await eventually(() => pending(t, w!) === 0, 'watches dropped');
      await member.leave();
      await group.delete();
    });

    it('watchers see every update, in order', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      const member = await a!.group<{ load: number }>(name).join('busy', { capabilities: { load: 0 } });
      const recorder = new Recorder<{ load: number }>(w!.group(name));
      await eventually(() => recorder.count('busy', 'join') === 1, 'join seen');
      for (let load = 1; load <= 5; load += 1) {
        await member.update({ load });
        await eventually(() => recorder.count('busy', 'update') === load, `update ${load} seen`);
      }
      expect(recorder.events.map((event) => [event.type, event.capabilities])).toEqual([
        ['join', { load: 0 }],
        ...[1, 2, 3, 4, 5].map((load) => ['update', { load }]),
      ]);
      await member.leave();
      await eventually(() => recorder.count('busy', 'leave') === 1, 'leave seen');
      expect(recorder.events.at(-1)).toEqual({ type: 'leave', member: 'busy', capabilities: { load: 5 } });
      expect(await recorder.stop()).toBeUndefined();
      await a!.group(name).delete();
    });

    it('a watch stops cleanly on break and on abort, dropping every watch', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      const members = await Promise.all(['p', 'q', 'r'].map((id) => a!.group(name).join(id)));
      const seen: string[] = [];
      for await (const event of w!.group(name).watch()) {
        seen.push(event.member);
        if (seen.length === 2) break;
      }
      expect(seen).toHaveLength(2);
      await eventually(() => pending(t, w!) === 0, 'watches dropped after break');
      // Abort while the watch waits for a change.
      const recorder = new Recorder(w!.group(name));
      await eventually(() => recorder.events.length === 3, 'initial joins');
      await armed(t, w!, 5);
      expect(await recorder.stop()).toBeUndefined();
      await eventually(() => pending(t, w!) === 0, 'watches dropped after abort');
      // Abort while the consumer is busy: the next step ends the loop.
      const controller = new AbortController();
      let steps = 0;
      for await (const _event of w!.group(name).watch({ signal: controller.signal })) {
        steps += 1;
        controller.abort();
        await delay(5);
      }
      expect(steps).toBe(1);
      await eventually(() => pending(t, w!) === 0, 'watches dropped after abort in the loop body');
      // An aborted signal: no read at all.
      const before = requestsOf(t, w!);
      for await (const _event of w!.group(name).watch({ signal: controller.signal })) throw new Error('no event expected');
      expect(requestsOf(t, w!).get).toBe(before.get);
      await Promise.all(members.map((m) => m.leave()));
      await a!.group(name).delete();
    });

    it('a watch ends with GROUP_NOT_FOUND for a missing group, and after the last leave when the group is deleted', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      const missing = new Recorder(w!.group(name));
      expect((await missing.done as { code?: string }).code).toBe('GROUP_NOT_FOUND');
      await eventually(() => pending(t, w!) === 0, 'no watch left on the missing group');
      await a!.group(name).create();
      const member = await a!.group(name).join('last');
      const recorder = new Recorder(w!.group(name));
      await eventually(() => recorder.events.length === 1, 'join seen');
      await member.leave();
      await a!.group(name).delete();
      expect((await recorder.done as { code?: string }).code).toBe('GROUP_NOT_FOUND');
      expect(recorder.of('last')).toEqual(['join', 'leave']);
      await eventually(() => pending(t, w!) === 0, 'watches dropped');
    });

    it('a watch whose coordinator closes ends with CLOSED', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      const recorder = new Recorder(w!.group(name));
      await armed(t, w!);
      await w!.close();
      expect((await recorder.done as { code?: string }).code).toBe('CLOSED');
      await a!.group(name).delete();
    });

    it('leaves at the end of an `await using` block', async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      const recorder = new Recorder(w!.group(name));
      await armed(t, w!);
      let escaped: Membership<unknown> | undefined;
      await expect(
        (async () => {
          await using member = await a!.group(name).join('scoped');
          escaped = member;
          await eventually(() => recorder.count('scoped', 'join') === 1, 'join seen');
          throw new Error('work failed');
        })(),
      ).rejects.toThrow('work failed');
      expect(escaped?.left).toBe(true);
      await eventually(() => recorder.of('scoped').join() === 'join,leave', 'join and leave seen');
      expect(await a!.group(name).members()).toEqual(new Map());
      await recorder.stop();
      await a!.group(name).delete();
    });

    for (const hook of ['expireSession', 'stopRenewing'] as const) {
      withLoss(hook)(`a member whose session dies (${hook}) leaves: its signal aborts and watchers see a leave`, async () => {
        const t = context();
        const a = await t.openLosable({ sessionTimeout: 1_000 });
        const w = await t.open({ sessionTimeout: 1_000 });
        const name = groupName(t);
        await w.group(name).create();
        const member = await a.group(name).join('doomed', { capabilities: 'c' });
        const signal = member.signal;
        const recorder = new Recorder(w.group(name));
        await eventually(() => recorder.count('doomed', 'join') === 1, 'join seen');
        await t.loseSession(hook, a);
        await eventually(() => signal.aborted, 'membership signal aborted');
        expect((signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
        await eventually(() => recorder.count('doomed', 'leave') === 1, 'leave seen');
        expect(recorder.events).toEqual([
          { type: 'join', member: 'doomed', capabilities: 'c' },
          { type: 'leave', member: 'doomed', capabilities: 'c' },
        ]);
        expect(await w.group(name).members()).toEqual(new Map());
        expect(await rejectionCode(member.update('d'))).toBe('SESSION_EXPIRED');
        await member.leave(); // after loss: no throw
        expect(member.left).toBe(true);
        // The coordinator carries on: the id is free to join again.
        await eventually(() => a.session.state === 'connected', 'fresh session');
        const again = await a.group(name).join('doomed');
        expect(again.token > member.token).toBe(true);
        await again.leave();
        await recorder.stop();
        await w.group(name).delete();
      });

      withLoss(hook)(`rejoin: true joins again on the next session (${hook}) with the latest capabilities`, async () => {
        const t = context();
        const a = await t.openLosable({ sessionTimeout: 1_000 });
        const w = await t.open({ sessionTimeout: 1_000 });
        const name = groupName(t);
        await w.group(name).create();
        const outcomes: RejoinOutcome[] = [];
        const member = await a.group<{ v: number }>(name).join('phoenix', {
          capabilities: { v: 1 },
          rejoin: true,
          onRejoin: (outcome) => outcomes.push(outcome),
        });
        await member.update({ v: 2 });
        const [firstSignal, firstToken] = [member.signal, member.token];
        const recorder = new Recorder<{ v: number }>(w.group(name));
        await eventually(() => recorder.count('phoenix', 'join') === 1, 'join seen');
        await t.loseSession(hook, a);
        await eventually(() => outcomes.length === 1, 'rejoined');
        expect(outcomes[0]).toEqual({ rejoined: true, token: member.token });
        expect(member.token > firstToken).toBe(true);
        expect(firstSignal.aborted).toBe(true);
        expect((firstSignal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
        expect(member.signal.aborted).toBe(false);
        await eventually(() => recorder.count('phoenix', 'join') === 2, 'second join seen');
        expect(recorder.events.map((event) => [event.type, event.capabilities])).toEqual([
          ['join', { v: 2 }],
          ['leave', { v: 2 }],
          ['join', { v: 2 }],
        ]);
        expect(await w.group(name).members()).toEqual(new Map([['phoenix', { v: 2 }]]));
        await member.update({ v: 3 });
        await eventually(() => recorder.count('phoenix', 'update') === 1, 'update seen');
        await member.leave();
        await eventually(() => recorder.count('phoenix', 'leave') === 2, 'leave seen');
        // Left for good: another expiry brings nothing back.
        await eventually(() => a.session.state === 'connected', 'fresh session');
        await fixture.faults.expireSession?.(t.raw(a));
        await eventually(() => a.session.state === 'connected', 'fresh session again');
        await delay(50);
        expect(await w.group(name).members()).toEqual(new Map());
        expect(outcomes).toHaveLength(1);
        expect(await recorder.stop()).toBeUndefined();
        await w.group(name).delete();
      });
    }

    withHook('expireSession')('a rejoin racing a new member with the same id: exactly one of them holds it', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const name = groupName(t);
      await b!.group(name).create();
      const outcomes: RejoinOutcome[] = [];
      const member = await a!.group(name).join('contested', { capabilities: 'a', rejoin: true, onRejoin: (o) => outcomes.push(o) });
      let rival: Promise<Membership<unknown> | string> | undefined;
      a!.on('state', ({ previous, state }) => {
        if (previous !== 'expired' || state !== 'connected') return;
        queueMicrotask(() => {
          rival = b!.group(name).join('contested', { capabilities: 'b' }).then((m) => m, (e: { code?: string }) => e.code ?? 'unknown');
        });
      });
      await fixture.faults.expireSession!(t.raw(a!));
      await eventually(() => outcomes.length === 1 && rival !== undefined, 'rejoin settled');
      const rivalResult = await rival!;
      const outcome = outcomes[0]!;
      const holders = await b!.group(name).members();
      if (outcome.rejoined) {
        expect(rivalResult).toBe('MEMBER_EXISTS');
        expect(holders).toEqual(new Map([['contested', 'a']]));
        await member.leave();
      } else {
        expect(outcome.error.code).toBe('MEMBER_EXISTS');
        expect(member.signal.aborted).toBe(true);
        expect(holders).toEqual(new Map([['contested', 'b']]));
        await member.leave(); // ended: a no-op that must not remove the rival
        expect(await b!.group(name).members()).toEqual(holders);
        await (rivalResult as Membership<unknown>).leave();
      }
      await b!.group(name).delete();
    });

    withHook('expireSession')('a rejoin racing the group delete: the delete fails or the rejoin does, never both succeed', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const name = groupName(t);
      await b!.group(name).create();
      const outcomes: RejoinOutcome[] = [];
      const member = await a!.group(name).join('stubborn', { rejoin: true, onRejoin: (o) => outcomes.push(o) });
      let deletion: Promise<string> | undefined;
      a!.on('state', ({ previous, state }) => {
        if (previous !== 'expired' || state !== 'connected') return;
        queueMicrotask(() => {
          deletion = b!.group(name).delete().then(() => 'deleted', (e: { code?: string }) => e.code ?? 'unknown');
        });
      });
      await fixture.faults.expireSession!(t.raw(a!));
      await eventually(() => outcomes.length === 1 && deletion !== undefined, 'rejoin settled');
      const deleted = await deletion!;
      const outcome = outcomes[0]!;
      if (outcome.rejoined) {
        expect(deleted).toBe('GROUP_NOT_EMPTY');
        expect([...(await b!.group(name).members()).keys()]).toEqual(['stubborn']);
        await member.leave();
        await b!.group(name).delete();
      } else {
        expect(deleted).toBe('deleted');
        expect(outcome.error.code).toBe('GROUP_NOT_FOUND');
        expect((await b!.driver.children(`/.coord/groups/${name}`)).nodes).toEqual([]);
        expect(await b!.groups()).not.toContain(name);
        await member.leave();
      }
    });

    withHook('expireSession')("a watcher's own session expiry: the watch goes on and reports what changed meanwhile", async () => {
      const t = context();
      const [a, w] = await t.openMany(2);
      const name = groupName(t);
      await a!.group(name).create();
      const early = await a!.group(name).join('early');
      const recorder = new Recorder(w!.group(name));
      await eventually(() => recorder.events.length === 1, 'initial join');
      await fixture.faults.expireSession!(t.raw(w!));
      await early.leave();
      const late = await a!.group(name).join('late');
      await eventually(() => recorder.of('early').join() === 'join,leave' && recorder.of('late').join() === 'join', 'changes seen');
      await late.leave();
      await eventually(() => recorder.of('late').join() === 'join,leave', 'leave after the expiry seen');
      expect(await recorder.stop()).toBeUndefined();
      await a!.group(name).delete();
    });
  });
}
