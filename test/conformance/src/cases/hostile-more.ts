/**
 * More hostile input (issue 13, continued from `hostile.ts`): control and reserved characters
 * in every path and name, valid Unicode end to end, codecs that throw or are malformed,
 * values JSON cannot encode, payloads at the size limit, every call after `close()`, options
 * of the wrong shape, and releases repeated or made after close. Each case is deterministic:
 * a refusal before any request, or an uncontended completion whose result is checked exactly.
 */
import { describe, expect, it } from '@jest/globals';
import type { Coordinator } from 'coord';
import { CoordError, MAX_NODE_DATA_BYTES, rawCodec, type Codec } from '@coord/core';
import { rejectedCoordError } from '@coord/testing';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { errorCode, rejectionCode } from '../util.js';

const bad = <T>(value: unknown): T => value as T;
const noop = (): void => undefined;

/** A group name unique to this test (groups live in one global namespace). */
const groupName = (t: TestContext, suffix = 'g'): string => `${t.prefix.slice(1).replaceAll('/', '-')}-${suffix}`;
const groupNodePath = (name: string): string => `/.coord/groups/${name}`;

/** Every recipe constructor that takes a path. */
const PATH_RECIPES: readonly (readonly [label: string, make: (coord: Coordinator, path: string) => unknown])[] = [
  ['lock', (c, p) => c.lock(p)],
  ['rwlock', (c, p) => c.rwlock(p)],
  ['semaphore', (c, p) => c.semaphore(p, { permits: 1 })],
  ['barrier', (c, p) => c.barrier(p)],
  ['doubleBarrier', (c, p) => c.doubleBarrier(p, { count: 1 })],
  ['queue', (c, p) => c.queue(p)],
  ['election', (c, p) => c.election(p)],
];

/** Paths every recipe refuses: built under the test's prefix where they are strings. */
const BAD_PATHS: readonly (readonly [label: string, path: (prefix: string) => unknown])[] = [
  ['NUL', (p) => `${p}/a\u0000b`],
  ['newline', (p) => `${p}/a\nb`],
  ['tab', (p) => `${p}/a\tb`],
  ['DEL', (p) => `${p}/a\u007fb`],
  ['C1 control U+0085', (p) => `${p}/a\u0085b`],
  ['lone high surrogate', (p) => `${p}/a\ud800b`],
  ['lone low surrogate', (p) => `${p}/a\udc00b`],
  ['emoji (a surrogate pair, reserved like ZooKeeper)', (p) => `${p}/a\u{1f600}`],
  ['U+FFFE', (p) => `${p}/a\ufffeb`],
  ["a '..' segment", (p) => `${p}/../x`],
  ["a '.' segment", (p) => `${p}/./x`],
  ["'//'", (p) => `${p}//x`],
  ["a trailing '/'", (p) => `${p}/x/`],
  ['the empty string', () => ''],
  ['a relative path', (p) => p.slice(1)],
  ['a number', () => 42],
  ['null', () => null],
  ['an object', () => ({ path: '/x' })],
];

/** Group names and member ids that are refused. */
const BAD_NAMES: readonly (readonly [label: string, name: unknown])[] = [
  ['empty', ''],
  ["'.'", '.'],
  ["'..'", '..'],
  ["containing '/'", 'a/b'],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007f'],
  ['lone surrogate', 'a\ud800'],
  ['emoji', 'a\u{1f389}'],
  ['a number', 7],
  ['undefined', undefined],
];

/** Valid Unicode segments: they work end to end on every backend. */
const UNICODE: readonly string[] = ['é', '日本', 'Ωmega-ü', 'a b', 'ÿ\u00a0ñ'];

/** A recipe's full cycle at a Unicode path, with its results checked exactly. */
const UNICODE_CYCLES: readonly (readonly [recipe: string, run: (coord: Coordinator, t: TestContext, name: string) => Promise<void>])[] = [
  ['lock acquire + release', async (c, t, n) => {
    const path = t.path(n);
    const lease = await c.lock(path).acquire({ timeout: 10_000 });
    expect((await c.driver.children(path)).nodes).toHaveLength(1);
    await lease.release();
    expect((await c.driver.children(path)).nodes).toEqual([]);
  }],
  ['rwlock read + write', async (c, t, n) => {
    const rw = c.rwlock(t.path(n));
    await (await rw.read.acquire({ timeout: 10_000 })).release();
    await (await rw.write.acquire({ timeout: 10_000 })).release();
  }],
  ['semaphore acquire + release', async (c, t, n) => {
    const lease = await c.semaphore(t.path(n), { permits: 2 }).acquire({ timeout: 10_000 });
    await lease.release();
  }],
  ['barrier raise + lower + wait', async (c, t, n) => {
    const barrier = c.barrier(t.path(n));
    expect(await barrier.raise()).toBe(true);
    expect(await barrier.isRaised()).toBe(true);
    expect(await barrier.lower()).toBe(true);
    await barrier.wait({ timeout: 10_000 });
  }],
  ['doubleBarrier enter + leave', async (c, t, n) => {
    const member = await c.doubleBarrier(t.path(n), { count: 1 }).enter({ timeout: 10_000 });
    await member.leave({ timeout: 10_000 });
  }],
  ['queue put + take + ack (the value too)', async (c, t, n) => {
    const queue = c.queue<{ name: string }>(t.path(n));
    const id = await queue.put({ name: n });
    const message = await queue.take({ timeout: 10_000 });
    expect(message.id).toBe(id);
    expect(message.value).toEqual({ name: n });
    await message.ack();
    expect(await queue.size()).toBe(0);
  }],
  ['election campaign + leader + resign', async (c, t, n) => {
    const election = c.election<string>(t.path(n));
    const leadership = await election.campaign(n, { timeout: 10_000 });
    expect((await election.leader())?.value).toBe(n);
    await leadership.resign();
    expect(await election.leader()).toBeUndefined();
  }],
  ['group create + join + members + leave + delete (name and member id)', async (c, t, n) => {
    const group = c.group<string>(`${groupName(t)}-${n}`);
    await group.create();
    const membership = await group.join(n, { capabilities: n });
    expect([...(await group.members()).entries()]).toEqual([[n, n]]);
    await membership.leave();
    expect((await group.members()).size).toBe(0);
    await group.delete();
  }],
];

/** A codec error, typed as the Codec contract asks. */
const codecError = (what: string): CoordError => new CoordError('INVALID_ARGUMENT', `test codec: cannot ${what}`);
const throwsOnEncode: Codec<unknown> = { encode: () => { throw codecError('encode'); }, decode: (bytes) => bytes };
const throwsOnDecode: Codec<unknown> = { encode: (value) => new TextEncoder().encode(JSON.stringify(value)), decode: () => { throw codecError('decode'); } };
/** A careless codec: it throws plain Errors (the recipe must still answer with a CoordError). */
const plainThrowsOnEncode: Codec<unknown> = { encode: () => { throw new Error('boom'); }, decode: (bytes) => bytes };
const plainThrowsOnDecode: Codec<unknown> = { encode: (value) => new TextEncoder().encode(JSON.stringify(value)), decode: () => { throw new TypeError('boom'); } };

/** Codecs that are refused when the recipe is made. */
const BAD_CODECS: readonly (readonly [label: string, codec: unknown])[] = [
  ['a string', 'json'],
  ['a number', 42],
  ['null', null],
  ['an array', [noop, noop]],
  ['a function with encode and decode', Object.assign(() => undefined, { encode: noop, decode: noop })],
  ['an object without decode', { encode: noop }],
  ['an object without encode', { decode: noop }],
  ['an object whose encode/decode are not functions', { encode: 1, decode: 'x' }],
];

const CODEC_RECIPES: readonly (readonly [label: string, make: (coord: Coordinator, t: TestContext, codec: unknown) => unknown])[] = [
  ['queue', (c, t, codec) => c.queue(t.path('q'), bad<never>({ codec }))],
  ['election', (c, t, codec) => c.election(t.path('e'), bad<never>({ codec }))],
  ['group', (c, t, codec) => c.group(groupName(t), bad<never>({ codec }))],
];

/** A write of `value` through `codec` that must refuse, and where its node would have been. */
type Writer = readonly [label: string, write: (coord: Coordinator, t: TestContext, value: unknown, codec?: Codec<unknown>) => Promise<unknown>, where: (t: TestContext) => string, setup?: (coord: Coordinator, t: TestContext) => Promise<void>];

const WRITERS: readonly Writer[] = [
  ['queue.put', (c, t, v, codec) => c.queue(t.path('q'), codec === undefined ? {} : { codec }).put(v), (t) => t.path('q/items')],
  ['election.campaign', (c, t, v, codec) => c.election(t.path('e'), codec === undefined ? {} : { codec }).campaign(v, { timeout: 10_000 }), (t) => t.path('e')],
  ['group.join capabilities', (c, t, v, codec) => c.group(groupName(t), codec === undefined ? {} : { codec }).join('m', { capabilities: v }), (t) => groupNodePath(groupName(t)), async (c, t) => c.group(groupName(t)).create()],
];

const circular = (): unknown => {
  const value: { self?: unknown } = {};
  value.self = value;
  return value;
};

/** Values the default JSON codec cannot encode. */
const UNENCODABLE: readonly (readonly [label: string, value: () => unknown])[] = [
  ['a BigInt', () => 10n],
  ['a circular object', circular],
  ['a function', () => noop],
  ['a symbol', () => Symbol('s')],
  ['an object holding a BigInt', () => ({ id: 1n })],
];

/** Values JSON encodes lossily: they complete, and come back as JSON makes them. */
const LOSSY: readonly (readonly [label: string, value: () => unknown, back: unknown])[] = [
  ['undefined (an empty value)', () => undefined, undefined],
  ['an array holding a function', () => [noop, 1], [null, 1]],
  ['an object with an undefined field', () => ({ a: undefined, b: 2 }), { b: 2 }],
  ['NaN', () => NaN, null],
  ['the empty string', () => '', ''],
];

/** Deletes a group from another coordinator (a persistent node outlives its creator). */
async function dropGroup(coord: Coordinator, name: string): Promise<void> {
  await coord.group(name).delete().catch(() => undefined);
}

/** A value, written through `write`, read back exactly through the recipe's own read. */
type RoundTrip = readonly [label: string, run: (coord: Coordinator, t: TestContext, value: unknown, codec?: Codec<unknown>) => Promise<unknown>];

const ROUND_TRIPS: readonly RoundTrip[] = [
  ['queue put + take + ack', async (c, t, v, codec) => {
    const queue = c.queue(t.path('q'), codec === undefined ? {} : { codec });
    await queue.put(v);
    const message = await queue.take({ timeout: 10_000 });
    const value = message.value;
    await message.ack();
    expect(await queue.size()).toBe(0);
    return value;
  }],
  ['election campaign + leader + resign', async (c, t, v, codec) => {
    const election = c.election(t.path('e'), codec === undefined ? {} : { codec });
    const leadership = await election.campaign(v, { timeout: 10_000 });
    const leader = await election.leader();
    await leadership.resign();
    expect(await election.leader()).toBeUndefined();
    return leader?.value;
  }],
  ['group join + members + leave', async (c, t, v, codec) => {
    const group = c.group(groupName(t), codec === undefined ? {} : { codec });
    await group.create();
    const membership = await group.join('m', { capabilities: v });
    const members = await group.members();
    await membership.leave();
    await group.delete();
    expect([...members.keys()]).toEqual(['m']);
    return members.get('m');
  }],
];

const filled = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);

/** A call on a recipe object made before `close()`. */
type AfterClose = readonly [label: string, call: (coord: Coordinator, t: TestContext) => (() => unknown)];

/** Each entry makes its recipe while open, and returns the call to make after close. */
const AFTER_CLOSE: readonly AfterClose[] = [
  ['lock.acquire', (c, t) => { const r = c.lock(t.path('l')); return () => r.acquire({ timeout: 1_000 }); }],
  ['lock.tryAcquire', (c, t) => { const r = c.lock(t.path('l')); return () => r.tryAcquire(); }],
  ['lock.withLock', (c, t) => { const r = c.lock(t.path('l')); return () => r.withLock(noop); }],
  ['rwlock.read.acquire', (c, t) => { const r = c.rwlock(t.path('rw')); return () => r.read.acquire(); }],
  ['rwlock.write.tryAcquire', (c, t) => { const r = c.rwlock(t.path('rw')); return () => r.write.tryAcquire(); }],
  ['semaphore.acquire', (c, t) => { const r = c.semaphore(t.path('s'), { permits: 2 }); return () => r.acquire(); }],
  ['semaphore.tryAcquire', (c, t) => { const r = c.semaphore(t.path('s'), { permits: 2 }); return () => r.tryAcquire(); }],
  ['barrier.raise', (c, t) => { const r = c.barrier(t.path('b')); return () => r.raise(); }],
  ['barrier.lower', (c, t) => { const r = c.barrier(t.path('b')); return () => r.lower(); }],
  ['barrier.wait', (c, t) => { const r = c.barrier(t.path('b')); return () => r.wait(); }],
  ['barrier.isRaised', (c, t) => { const r = c.barrier(t.path('b')); return () => r.isRaised(); }],
  ['doubleBarrier.enter', (c, t) => { const r = c.doubleBarrier(t.path('d'), { count: 1 }); return () => r.enter(); }],
  ['queue.put', (c, t) => { const r = c.queue(t.path('q')); return () => r.put('x'); }],
  ['queue.take', (c, t) => { const r = c.queue(t.path('q')); return () => r.take(); }],
  ['queue.size', (c, t) => { const r = c.queue(t.path('q')); return () => r.size(); }],
  ['queue.consume first next()', (c, t) => { const r = c.queue(t.path('q')); return () => r.consume()[Symbol.asyncIterator]().next(); }],
  ['election.campaign', (c, t) => { const r = c.election(t.path('e')); return () => r.campaign('v'); }],
  ['election.leader', (c, t) => { const r = c.election(t.path('e')); return () => r.leader(); }],
  ['election.observe first next()', (c, t) => { const r = c.election(t.path('e')); return () => r.observe()[Symbol.asyncIterator]().next(); }],
  ['group.create', (c, t) => { const r = c.group(groupName(t)); return () => r.create(); }],
  ['group.delete', (c, t) => { const r = c.group(groupName(t)); return () => r.delete(); }],
  ['group.join', (c, t) => { const r = c.group(groupName(t)); return () => r.join('m'); }],
  ['group.members', (c, t) => { const r = c.group(groupName(t)); return () => r.members(); }],
  ['group.watch first next()', (c, t) => { const r = c.group(groupName(t)); return () => r.watch()[Symbol.asyncIterator]().next(); }],
  ['coord.groups()', (c) => () => c.groups()],
  ['coord.lock()', (c, t) => () => c.lock(t.path('l'))],
  ['coord.rwlock()', (c, t) => () => c.rwlock(t.path('rw'))],
  ['coord.semaphore()', (c, t) => () => c.semaphore(t.path('s'), { permits: 1 })],
  ['coord.barrier()', (c, t) => () => c.barrier(t.path('b'))],
  ['coord.doubleBarrier()', (c, t) => () => c.doubleBarrier(t.path('d'), { count: 1 })],
  ['coord.queue()', (c, t) => () => c.queue(t.path('q'))],
  ['coord.election()', (c, t) => () => c.election(t.path('e'))],
  ['coord.group()', (c, t) => () => c.group(groupName(t))],
];

/** Every method taking an options object, called with `options`. */
const OPTION_TAKERS: readonly (readonly [label: string, call: (coord: Coordinator, path: string, options: unknown) => unknown])[] = [
  ['lock.acquire', (c, p, o) => c.lock(p).acquire(bad(o))],
  ['lock.withLock', (c, p, o) => c.lock(p).withLock(noop, bad<never>(o))],
  ['rwlock.read.acquire', (c, p, o) => c.rwlock(p).read.acquire(bad(o))],
  ['rwlock.write.acquire', (c, p, o) => c.rwlock(p).write.acquire(bad(o))],
  ['semaphore.acquire', (c, p, o) => c.semaphore(p, { permits: 2 }).acquire(bad(o))],
  ['barrier.wait', (c, p, o) => c.barrier(p).wait(bad(o))],
  ['doubleBarrier.enter', (c, p, o) => c.doubleBarrier(p, { count: 2 }).enter(bad(o))],
  ['queue.take', (c, p, o) => c.queue(p).take(bad(o))],
  ['election.campaign', (c, p, o) => c.election(p).campaign('v', bad<never>(o))],
];

/** Options of the wrong shape for every method above: refused naming `argument`. */
const BAD_WAIT_OPTIONS: readonly (readonly [label: string, options: unknown, argument: string])[] = [
  ['options 42', 42, 'options'],
  ["options 'x'", 'x', 'options'],
  ['options []', [], 'options'],
  ['timeout -1', { timeout: -1 }, 'timeout'],
  ['timeout NaN', { timeout: NaN }, 'timeout'],
  ["timeout '5'", { timeout: '5' }, 'timeout'],
  ['timeout -Infinity', { timeout: -Infinity }, 'timeout'],
  ['timeout null', { timeout: null }, 'timeout'],
  ['signal {}', { signal: {} }, 'signal'],
  ["signal 'x'", { signal: 'x' }, 'signal'],
];

/** Options objects of the wrong shape for the other option-taking calls. */
const OTHER_OPTION_TAKERS: readonly (readonly [label: string, call: (coord: Coordinator, t: TestContext, options: unknown) => unknown])[] = [
  ['barrier.raise', (c, t, o) => c.barrier(t.path('b')).raise(bad(o))],
  ['queue.put', (c, t, o) => c.queue(t.path('q')).put('x', bad<never>(o))],
  ['queue.consume', (c, t, o) => c.queue(t.path('q')).consume(bad(o))],
  ['election.observe', (c, t, o) => c.election(t.path('e')).observe(bad(o))],
  ['group.join', (c, t, o) => c.group(groupName(t)).join('m', bad<never>(o))],
  ['group.watch', (c, t, o) => c.group(groupName(t)).watch(bad(o))],
  ['semaphore(path, options)', (c, t, o) => c.semaphore(t.path('s'), bad<never>(o))],
  ['doubleBarrier(path, options)', (c, t, o) => c.doubleBarrier(t.path('d'), bad<never>(o))],
  ['queue(path, options)', (c, t, o) => c.queue(t.path('q'), bad<never>(o))],
  ['election(path, options)', (c, t, o) => c.election(t.path('e'), bad<never>(o))],
  ['group(name, options)', (c, t, o) => c.group(groupName(t), bad<never>(o))],
];

const NOT_OBJECTS: readonly (readonly [label: string, options: unknown])[] = [
  ['42', 42],
  ["'x'", 'x'],
  ['[]', []],
];

/** Counts every client must agree on: each refused. */
const BAD_COUNTS: readonly (readonly [label: string, value: unknown])[] = [
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ["'3'", '3'],
  ['2**53', 2 ** 53],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['missing', undefined],
];

/** Registers the further hostile-input cases. */
export function hostileMoreCases(_fixture: DriverFixture, context: () => TestContext): void {
  describe('hostile input, more', () => {
    describe('paths and names', () => {
      for (const [recipe, make] of PATH_RECIPES) {
        for (const [label, path] of BAD_PATHS) {
          it(`${recipe}(path with ${label}): INVALID_ARGUMENT naming the path, nothing created`, async () => {
            const t = context();
            const coord = await t.open();
            const error = await rejectedCoordError((async () => make(coord, bad(path(t.prefix))))());
            expect(error.code).toBe('INVALID_ARGUMENT');
            expect(error.message).toContain('path');
            expect((await coord.driver.children(t.prefix)).nodes).toEqual([]);
          });
        }
      }

      for (const [label, name] of BAD_NAMES) {
        it(`group(name ${label}): INVALID_ARGUMENT naming the group name`, async () => {
          const t = context();
          const coord = await t.open();
          const error = await rejectedCoordError((async () => coord.group(bad(name)))());
          expect(error.code).toBe('INVALID_ARGUMENT');
          expect(error.message).toContain('group name');
        });
        it(`group.join(member id ${label}): INVALID_ARGUMENT naming the member id, no member`, async () => {
          const t = context();
          const coord = await t.open();
          const group = coord.group(groupName(t));
          await group.create();
          const error = await rejectedCoordError(group.join(bad(name)));
          expect(error.code).toBe('INVALID_ARGUMENT');
          expect(error.message).toContain('member id');
          expect((await coord.driver.children(groupNodePath(groupName(t)))).nodes).toEqual([]);
          await group.delete();
        });
      }

      for (const [recipe, run] of UNICODE_CYCLES) {
        for (const name of UNICODE) {
          it(`${recipe} at ${JSON.stringify(name)}: completes end to end`, async () => {
            const t = context();
            const coord = await t.open();
            await run(coord, t, name);
          });
        }
      }
    });

    describe('codecs', () => {
      for (const [recipe, make] of CODEC_RECIPES) {
        for (const [label, codec] of BAD_CODECS) {
          it(`${recipe} with codec ${label}: INVALID_ARGUMENT naming the codec`, async () => {
            const t = context();
            const coord = await t.open();
            const error = await rejectedCoordError((async () => make(coord, t, codec))());
            expect(error.code).toBe('INVALID_ARGUMENT');
            expect(error.message).toContain('codec');
          });
        }
      }

      for (const [label, write, where, setup] of WRITERS) {
        it(`${label} with a codec that throws on encode: its CoordError (INVALID_ARGUMENT), nothing left`, async () => {
          const t = context();
          const [a, b] = await t.openMany(2);
          await setup?.(a!, t);
          expect(await rejectionCode(write(a!, t, { any: 'value' }, throwsOnEncode))).toBe('INVALID_ARGUMENT');
          expect((await b!.driver.children(where(t))).nodes).toEqual([]);
          if (setup !== undefined) await a!.group(groupName(t)).delete();
        });
      }

      for (const [label, write, where, setup] of WRITERS) {
        it(`${label} with a codec that throws a plain Error on encode: INVALID_ARGUMENT (the Error as cause), nothing left`, async () => {
          const t = context();
          const [a, b] = await t.openMany(2);
          await setup?.(a!, t);
          const error = await rejectedCoordError(write(a!, t, { any: 'value' }, plainThrowsOnEncode));
          expect(error.code).toBe('INVALID_ARGUMENT');
          expect(error.message).toContain("codec's encode threw: boom");
          expect((await b!.driver.children(where(t))).nodes).toEqual([]);
          if (setup !== undefined) await a!.group(groupName(t)).delete();
        });
      }

      it('election leader() and group members() with a codec that throws a plain TypeError on decode: INVALID_ARGUMENT', async () => {
        const t = context();
        const coord = await t.open();
        const leadership = await coord.election(t.path('e')).campaign('v', { timeout: 10_000 });
        expect(await rejectionCode(coord.election(t.path('e'), { codec: plainThrowsOnDecode }).leader())).toBe('INVALID_ARGUMENT');
        await leadership.resign();
        const group = coord.group(groupName(t));
        await group.create();
        const membership = await group.join('m', { capabilities: { slots: 1 } });
        expect(await rejectionCode(coord.group(groupName(t), { codec: plainThrowsOnDecode }).members())).toBe('INVALID_ARGUMENT');
        await membership.leave();
        await group.delete();
      });

      it('queue take with a codec that throws on decode: the take completes, value throws its CoordError, ack works', async () => {
        const t = context();
        const coord = await t.open();
        await coord.queue(t.path('q')).put({ n: 1 });
        const message = await coord.queue(t.path('q'), { codec: throwsOnDecode }).take({ timeout: 10_000 });
        expect(await errorCode(() => message.value)).toBe('INVALID_ARGUMENT');
        expect(message.data).toEqual(new TextEncoder().encode('{"n":1}'));
        await message.ack();
        expect(await coord.queue(t.path('q')).size()).toBe(0);
      });

      it('election leader() with a codec that throws on decode: its CoordError (INVALID_ARGUMENT); resign works', async () => {
        const t = context();
        const coord = await t.open();
        const leadership = await coord.election(t.path('e')).campaign('v', { timeout: 10_000 });
        expect(await rejectionCode(coord.election(t.path('e'), { codec: throwsOnDecode }).leader())).toBe('INVALID_ARGUMENT');
        await leadership.resign();
        expect((await coord.driver.children(t.path('e'))).nodes).toEqual([]);
      });

      it('group members() with a codec that throws on decode: its CoordError (INVALID_ARGUMENT); leave works', async () => {
        const t = context();
        const coord = await t.open();
        const group = coord.group(groupName(t));
        await group.create();
        const membership = await group.join('m', { capabilities: { slots: 1 } });
        expect(await rejectionCode(coord.group(groupName(t), { codec: throwsOnDecode }).members())).toBe('INVALID_ARGUMENT');
        await membership.leave();
        expect((await group.members()).size).toBe(0);
        await group.delete();
      });
    });

    describe('values the JSON codec cannot encode', () => {
      for (const [writer, write, where, setup] of WRITERS) {
        for (const [label, value] of UNENCODABLE) {
          it(`${writer}(${label}): INVALID_ARGUMENT, nothing left`, async () => {
            const t = context();
            const [a, b] = await t.openMany(2);
            await setup?.(a!, t);
            expect(await rejectionCode(write(a!, t, value()))).toBe('INVALID_ARGUMENT');
            expect((await b!.driver.children(where(t))).nodes).toEqual([]);
            if (setup !== undefined) await dropGroup(b!, groupName(t));
          });
        }
      }

      for (const [trip, run] of ROUND_TRIPS) {
        for (const [label, value, back] of LOSSY) {
          it(`${trip} of ${label}: completes, read back as ${JSON.stringify(back) ?? 'undefined'}`, async () => {
            const t = context();
            const coord = await t.open();
            expect(await run(coord, t, value())).toEqual(back);
          });
        }
      }
    });

    describe('payload sizes (rawCodec)', () => {
      // The group member node holds a join id before the capabilities: leave it room.
      const under: Record<string, number> = { 'queue put + take + ack': MAX_NODE_DATA_BYTES, 'election campaign + leader + resign': MAX_NODE_DATA_BYTES, 'group join + members + leave': MAX_NODE_DATA_BYTES - 100 };
      for (const [trip, run] of ROUND_TRIPS) {
        it(`${trip} of ${under[trip]} bytes: completes, read back byte for byte`, async () => {
          const t = context();
          const coord = await t.open();
          const value = filled(under[trip]!);
          const back = (await run(coord, t, value, rawCodec as Codec<unknown>)) as Uint8Array;
          expect(back.byteLength).toBe(value.byteLength);
          expect(Buffer.from(back).equals(Buffer.from(value))).toBe(true);
        });
        it(`${trip} of 0 bytes: completes, read back empty`, async () => {
          const t = context();
          const coord = await t.open();
          const back = (await run(coord, t, new Uint8Array(0), rawCodec as Codec<unknown>)) as Uint8Array;
          expect(back.byteLength).toBe(0);
        });
      }
      for (const [label, write, where, setup] of WRITERS) {
        it(`${label} of ${MAX_NODE_DATA_BYTES + 1} bytes: PAYLOAD_TOO_LARGE, nothing left`, async () => {
          const t = context();
          const [a, b] = await t.openMany(2);
          await setup?.(a!, t);
          expect(await rejectionCode(write(a!, t, new Uint8Array(MAX_NODE_DATA_BYTES + 1), rawCodec as Codec<unknown>))).toBe('PAYLOAD_TOO_LARGE');
          expect((await b!.driver.children(where(t))).nodes).toEqual([]);
          if (setup !== undefined) await dropGroup(b!, groupName(t));
        });
      }
    });

    describe('after close()', () => {
      for (const [label, make] of AFTER_CLOSE) {
        it(`${label} after close(): CLOSED`, async () => {
          const t = context();
          const coord = await t.open();
          const call = make(coord, t);
          await coord.close();
          expect(await errorCode(call)).toBe('CLOSED');
        });
      }
    });

    describe('option shapes', () => {
      for (const [method, call] of OPTION_TAKERS) {
        for (const [label, options, argument] of BAD_WAIT_OPTIONS) {
          it(`${method}(${label}): INVALID_ARGUMENT naming ${argument}, nothing created`, async () => {
            const t = context();
            const coord = await t.open();
            const error = await rejectedCoordError((async () => call(coord, t.path('x'), options))());
            expect(error.code).toBe('INVALID_ARGUMENT');
            expect(error.message).toContain(argument);
            expect((await coord.driver.children(t.prefix)).nodes).toEqual([]);
          });
        }
      }

      for (const [method, call] of OTHER_OPTION_TAKERS) {
        for (const [label, options] of NOT_OBJECTS) {
          it(`${method} with options ${label}: INVALID_ARGUMENT naming options`, async () => {
            const t = context();
            const coord = await t.open();
            const error = await rejectedCoordError((async () => call(coord, t, options))());
            expect(error.code).toBe('INVALID_ARGUMENT');
            expect(error.message).toContain('options');
            expect((await coord.driver.children(t.prefix)).nodes).toEqual([]);
          });
        }
      }

      for (const [label, value] of BAD_COUNTS) {
        it(`semaphore(path, { permits: ${label} }): INVALID_ARGUMENT naming permits`, async () => {
          const t = context();
          const coord = await t.open();
          const error = await rejectedCoordError((async () => coord.semaphore(t.path('s'), { permits: bad(value) }))());
          expect(error.code).toBe('INVALID_ARGUMENT');
          expect(error.message).toContain('permits');
        });
        it(`doubleBarrier(path, { count: ${label} }): INVALID_ARGUMENT naming count`, async () => {
          const t = context();
          const coord = await t.open();
          const error = await rejectedCoordError((async () => coord.doubleBarrier(t.path('d'), { count: bad(value) }))());
          expect(error.code).toBe('INVALID_ARGUMENT');
          expect(error.message).toContain('count');
        });
      }

      it('permits and count of 2**53 - 1 are accepted (a description: no I/O)', async () => {
        const t = context();
        const coord = await t.open();
        expect(coord.semaphore(t.path('s'), { permits: 2 ** 53 - 1 }).permits).toBe(2 ** 53 - 1);
        expect(coord.doubleBarrier(t.path('d'), { count: 2 ** 53 - 1 }).count).toBe(2 ** 53 - 1);
        expect((await coord.driver.children(t.prefix)).nodes).toEqual([]);
      });

      it('timeout: 1e400 is Infinity, no timeout: an uncontended acquire completes', async () => {
        const t = context();
        const coord = await t.open();
        await (await coord.lock(t.path('l')).acquire({ timeout: 1e400 })).release();
        await (await coord.semaphore(t.path('s'), { permits: 1 }).acquire({ timeout: 1e400 })).release();
        await coord.barrier(t.path('b')).wait({ timeout: 1e400 });
      });

      const EXTRA = { unknown: true, timeoutMs: 'ignored' };
      const WITH_EXTRA_KEYS: readonly (readonly [label: string, run: (coord: Coordinator, t: TestContext) => Promise<void>])[] = [
        ['lock.acquire', async (c, t) => (await c.lock(t.path('l')).acquire(bad(EXTRA))).release()],
        ['rwlock.write.acquire', async (c, t) => (await c.rwlock(t.path('rw')).write.acquire(bad(EXTRA))).release()],
        ['semaphore(path, options) + acquire', async (c, t) => (await c.semaphore(t.path('s'), bad({ permits: 1, ...EXTRA })).acquire(bad(EXTRA))).release()],
        ['barrier.raise + wait', async (c, t) => {
          const barrier = c.barrier(t.path('b'));
          expect(await barrier.raise(bad(EXTRA))).toBe(true);
          expect(await barrier.lower()).toBe(true);
          await barrier.wait(bad(EXTRA));
        }],
        ['doubleBarrier(path, options) + enter', async (c, t) => (await c.doubleBarrier(t.path('d'), bad({ count: 1, ...EXTRA })).enter(bad(EXTRA))).leave()],
        ['queue(path, options) + put + take', async (c, t) => {
          const queue = c.queue<string>(t.path('q'), bad(EXTRA));
          const id = await queue.put('v', bad(EXTRA));
          const message = await queue.take(bad(EXTRA));
          expect([message.id, message.value, message.priority]).toEqual([id, 'v', 0]);
          await message.ack();
        }],
        ['election(path, options) + campaign', async (c, t) => {
          const election = c.election<string>(t.path('e'), bad(EXTRA));
          const leadership = await election.campaign('v', bad(EXTRA));
          expect((await election.leader())?.value).toBe('v');
          await leadership.resign();
        }],
        ['group(name, options) + join', async (c, t) => {
          const group = c.group<number>(groupName(t), bad(EXTRA));
          await group.create();
          const membership = await group.join('m', bad({ capabilities: 3, ...EXTRA }));
          expect([...(await group.members()).entries()]).toEqual([['m', 3]]);
          await membership.leave();
          await group.delete();
        }],
      ];
      for (const [label, run] of WITH_EXTRA_KEYS) {
        it(`${label} with unknown option keys: accepted, completes`, async () => {
          const t = context();
          const coord = await t.open();
          await run(coord, t);
        });
      }
    });

    describe('releases repeated, or made after close()', () => {
      const TWICE: readonly (readonly [label: string, run: (coord: Coordinator, t: TestContext) => Promise<void>, where: (t: TestContext) => string])[] = [
        ['lease.release', async (c, t) => {
          const lease = await c.lock(t.path('l')).acquire();
          await lease.release();
          await lease.release();
        }, (t) => t.path('l')],
        ['rwlock read lease.release', async (c, t) => {
          const lease = await c.rwlock(t.path('rw')).read.acquire();
          await lease.release();
          await lease.release();
        }, (t) => t.path('rw')],
        ['semaphore lease.release', async (c, t) => {
          const lease = await c.semaphore(t.path('s'), { permits: 1 }).acquire();
          await Promise.all([lease.release(), lease.release()]);
          await lease.release();
          const again = await c.semaphore(t.path('s'), { permits: 1 }).tryAcquire();
          expect(again).toBeDefined(); // the permit really came back
          await again!.release();
        }, (t) => t.path('x')],
        ['leadership.resign', async (c, t) => {
          const leadership = await c.election(t.path('e')).campaign('v');
          await leadership.resign();
          await leadership.resign();
          await leadership.release();
        }, (t) => t.path('e')],
        ['membership.leave', async (c, t) => {
          const group = c.group(groupName(t));
          await group.create();
          const membership = await group.join('m');
          await membership.leave();
          await membership.leave();
          expect(membership.left).toBe(true);
          await group.delete();
        }, (t) => groupNodePath(groupName(t))],
        ['message.nack', async (c, t) => {
          const queue = c.queue(t.path('q'));
          await queue.put(1);
          const message = await queue.take();
          await message.nack();
          await message.nack();
          expect(await queue.size()).toBe(1);
          const again = await queue.take();
          expect(again.id).toBe(message.id);
          await again.ack();
        }, (t) => t.path('q/items')],
        ['doubleBarrier member.leave', async (c, t) => {
          const member = await c.doubleBarrier(t.path('d'), { count: 1 }).enter();
          await member.leave();
          await member.leave();
          expect(member.left).toBe(true);
        }, (t) => t.path('x')],
      ];
      for (const [label, run, where] of TWICE) {
        it(`${label} twice: resolves both times, nothing left`, async () => {
          const t = context();
          const [a, b] = await t.openMany(2);
          await run(a!, t);
          expect((await b!.driver.children(where(t))).nodes).toEqual([]);
        });
      }

      const AFTER: readonly (readonly [label: string, hold: (coord: Coordinator, t: TestContext) => Promise<() => Promise<void>>, outcome: 'resolves' | 'CLOSED'])[] = [
        ['lease.release', async (c, t) => { const h = await c.lock(t.path('l')).acquire(); return () => h.release(); }, 'resolves'],
        ['rwlock write lease.release', async (c, t) => { const h = await c.rwlock(t.path('rw')).write.acquire(); return () => h.release(); }, 'resolves'],
        ['semaphore lease.release', async (c, t) => { const h = await c.semaphore(t.path('s'), { permits: 1 }).acquire(); return () => h.release(); }, 'resolves'],
        ['leadership.resign', async (c, t) => { const h = await c.election(t.path('e')).campaign('v'); return () => h.resign(); }, 'resolves'],
        ['membership.leave', async (c, t) => {
          const group = c.group(groupName(t));
          await group.create();
          const h = await group.join('m');
          return () => h.leave();
        }, 'resolves'],
        ['message.nack', async (c, t) => {
          const queue = c.queue(t.path('q'));
          await queue.put(1);
          const h = await queue.take();
          return () => h.nack();
        }, 'resolves'],
        ['message.ack (its claim went with the session)', async (c, t) => {
          const queue = c.queue(t.path('q'));
          await queue.put(1);
          const h = await queue.take();
          return () => h.ack();
        }, 'CLOSED'],
      ];
      for (const [label, hold, outcome] of AFTER) {
        it(`${label} after its coordinator closed: ${outcome === 'resolves' ? 'resolves' : 'rejects CLOSED'}, and again`, async () => {
          const t = context();
          const [a, b] = await t.openMany(2);
          const release = await hold(a!, t);
          await a!.close();
          for (let round = 0; round < 2; round += 1) {
            if (outcome === 'resolves') await release();
            else expect(await rejectionCode(release())).toBe('CLOSED');
          }
          await dropGroup(b!, groupName(t));
          if (label.startsWith('message')) {
            const message = await b!.queue(t.path('q')).take({ timeout: 10_000 }); // delivered again
            await message.ack();
          }
        });
      }
    });
  });
}
