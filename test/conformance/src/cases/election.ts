/**
 * The election recipe: one leader at a time, in campaign order, fencing tokens, leaders
 * replaced when their session dies, `leader()` and `observe()`, and followers that wait on
 * their predecessor only.
 */
import { describe, expect, it } from '@jest/globals';
import { rawCodec, type Codec, type Coordinator, type Leader, type Leadership } from 'coord';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually, rejectionCode } from '../util.js';

/** Collects what an observer yields until stopped. */
class Watcher<T> {
  readonly seen: (Leader<T> | undefined)[] = [];
  readonly #controller = new AbortController();
  readonly done: Promise<unknown>;

  constructor(observe: (signal: AbortSignal) => AsyncIterable<Leader<T> | undefined>) {
    const iterable = observe(this.#controller.signal);
    this.done = (async () => {
      for await (const leader of iterable) this.seen.push(leader);
    })().catch((error: unknown) => error);
  }

  /** Aborts the observation; returns what ended it (`undefined`: aborting ends it quietly). */
  async stop(): Promise<unknown> {
    this.#controller.abort();
    return this.done;
  }
}

/** Registers the election cases. */
export function electionCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const queueLength = async (coord: Coordinator, path: string): Promise<number> => (await coord.driver.children(path)).nodes.length;
  const observe = <T>(coord: Coordinator, path: string): Watcher<T> => new Watcher((signal) => coord.election<T>(path).observe({ signal }));

  describe('election', () => {
    it('elects the first candidate; the next leads after it resigns, with a larger token', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('election');
      expect(await c!.election(path).leader()).toBeUndefined();
      const first = await a!.election<string>(path).campaign('a');
      expect(first.value).toBe('a');
      expect(await c!.election<string>(path).leader()).toEqual({ value: 'a', token: first.token });
      let secondLed = false;
      const second = b!.election<{ name: string }>(path).campaign({ name: 'b' }, { timeout: 20_000 }).then((held) => {
        secondLed = true;
        return held;
      });
      await eventually(async () => (await queueLength(c!, path)) === 2, 'b queued');
      await delay(50);
      expect(secondLed).toBe(false);
      expect((await c!.election(path).leader())?.value).toBe('a');
      await first.resign();
      const leadership = await second;
      expect(leadership.token > first.token).toBe(true);
      expect(await c!.election(path).leader()).toEqual({ value: { name: 'b' }, token: leadership.token });
      await leadership.resign();
      expect(await c!.election(path).leader()).toBeUndefined();
    });

    it('resign is idempotent, aborts the signal, and `await using` resigns', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('election');
      let escaped: Leadership<unknown> | undefined;
      await expect(
        (async () => {
          await using leadership = await coord.election(path).campaign(1);
          escaped = leadership;
          expect(leadership.signal.aborted).toBe(false);
          throw new Error('leader crashed');
        })(),
      ).rejects.toThrow('leader crashed');
      expect(escaped?.released).toBe(true);
      expect(escaped?.signal.aborted).toBe(true);
      await Promise.all([escaped!.resign(), escaped!.release(), escaped!.resign()]);
      expect(await queueLength(coord, path)).toBe(0);
    });

    it('campaign times out with TIMEOUT and aborts with ABORTED, leaving no candidate behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('election');
      const leader = await a!.election(path).campaign('a');
      expect(await rejectionCode(b!.election(path).campaign('b', { timeout: 100 }))).toBe('TIMEOUT');
      expect(await queueLength(a!, path)).toBe(1);
      const controller = new AbortController();
      const waiting = b!.election(path).campaign('b', { signal: controller.signal });
      await eventually(async () => (await queueLength(a!, path)) === 2, 'b queued');
      controller.abort();
      expect(await rejectionCode(waiting)).toBe('ABORTED');
      expect(await queueLength(a!, path)).toBe(1);
      expect(await rejectionCode(b!.election(path).campaign('b', { signal: controller.signal }))).toBe('ABORTED');
      expect((await b!.election(path).leader())?.value).toBe('a');
      await leader.resign();
    });

    it('uncontended: campaign is one request, leader() two', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('election');
      const counts = t.counting(coord).counts;
      const total = () => counts.create + counts.createSequential + counts.delete + counts.get + counts.children + counts.set;
      let before = total();
      const leadership = await coord.election(path).campaign('x');
      expect(total() - before).toBe(1);
      before = total();
      await coord.election(path).leader();
      expect(total() - before).toBe(2);
      await leadership.resign();
    });

    it('values go through the codec', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('election');
      const upper: Codec<string> = {
        encode: (value) => new TextEncoder().encode(value.toUpperCase()),
        decode: (bytes) => new TextDecoder().decode(bytes),
      };
      const leadership = await a!.election(path, { codec: upper }).campaign('node-a');
      expect(leadership.value).toBe('node-a');
      expect((await b!.election(path, { codec: upper }).leader())?.value).toBe('NODE-A');
      expect((await b!.election(path, { codec: rawCodec }).leader())?.value).toEqual(new TextEncoder().encode('NODE-A'));
      await leadership.resign();
      expect(await errorCode(() => a!.election(path).campaign(10n))).toBe('INVALID_ARGUMENT');
      expect(await queueLength(a!, path)).toBe(0);
      expect(await errorCode(() => a!.election('no-slash'))).toBe('INVALID_ARGUMENT');
    });

    it('followers wait on their predecessor only: a leader stepping down wakes exactly one candidate', async () => {
      const t = context();
      const coords = await t.openMany(10);
      const path = t.path('election');
      const leaders: Leadership<unknown>[] = [await coords[0]!.election(path).campaign(0)];
      const followers: Promise<Leadership<unknown>>[] = [];
      for (let i = 1; i < 10; i += 1) {
        followers.push(coords[i]!.election(path).campaign(i, { timeout: 30_000 }));
        await eventually(async () => (await queueLength(coords[0]!, path)) === i + 1, `follower ${i} queued`);
      }
      for (let i = 0; i < 9; i += 1) {
        const before = t.wakeUps(coords);
        await leaders[i]!.resign();
        leaders.push(await followers[i]!);
        expect(t.wakeUps(coords) - before).toBe(1);
        expect(leaders[i + 1]!.value).toBe(i + 1);
      }
      await leaders[9]!.resign();
    });

    it('observe yields the current leader, each new one once, and undefined when the last resigns', async () => {
      const t = context();
      const [a, b, o] = await t.openMany(3);
      const path = t.path('election');
      const watcher = observe<string>(o!, path);
      await eventually(() => watcher.seen.length === 1, 'initial state');
      expect(watcher.seen).toEqual([undefined]);
      const la = await a!.election<string>(path).campaign('a');
      await eventually(() => watcher.seen.length === 2, 'a observed');
      const lb = b!.election<string>(path).campaign('b', { timeout: 20_000 });
      await eventually(async () => (await queueLength(o!, path)) === 2, 'b queued');
      const observerWakeUps = t.wakeUps([o!]);
      await delay(50);
      expect(t.wakeUps([o!])).toBe(observerWakeUps); // a follower joining does not wake observers
      await la.resign();
      const held = await lb;
      await eventually(() => watcher.seen.length === 3, 'b observed');
      await held.resign();
      await eventually(() => watcher.seen.length === 4, 'no leader observed');
      expect(watcher.seen).toEqual([undefined, { value: 'a', token: la.token }, { value: 'b', token: held.token }, undefined]);
      expect(await watcher.stop()).toBeUndefined();
    });

    it('observe releases its watch when the consumer breaks or the signal aborts', async () => {
      const t = context();
      const [a, o] = await t.openMany(2);
      const path = t.path('election');
      const leadership = await a!.election(path).campaign('a');
      for await (const leader of o!.election(path).observe()) {
        expect(leader?.token).toBe(leadership.token);
        break;
      }
      const controller = new AbortController();
      const iterator = o!.election(path).observe({ signal: controller.signal })[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ value: 'a', token: leadership.token });
      const pending = iterator.next();
      controller.abort();
      expect((await pending).done).toBe(true); // aborting ends the loop quietly, like break
      expect((await iterator.next()).done).toBe(true);
      const before = t.wakeUps([o!]);
      await leadership.resign();
      await delay(50);
      expect(t.wakeUps([o!])).toBe(before); // no observer watch was left to fire
      const aborted = o!.election(path).observe({ signal: controller.signal })[Symbol.asyncIterator]();
      expect((await aborted.next()).done).toBe(true);
    });

    withHook('expireSession')('an observer whose own session expires carries on, without repeating the leader', async () => {
      const t = context();
      const [a, o] = await t.openMany(2);
      const path = t.path('election');
      const leadership = await a!.election<string>(path).campaign('a');
      const watcher = observe<string>(o!, path);
      await eventually(() => watcher.seen.length === 1, 'leader observed');
      await t.expireSession(o!);
      await eventually(() => o!.session.state === 'connected', 'fresh observer session');
      await delay(50);
      expect(watcher.seen).toEqual([{ value: 'a', token: leadership.token }]);
      await leadership.resign();
      await eventually(() => watcher.seen.length === 2, 'resignation observed');
      expect(watcher.seen[1]).toBeUndefined();
      await watcher.stop();
    });

    withHook('expireSession')("a leader's session expiring: its signal aborts before the next candidate leads", async () => {
      const t = context();
      const [a, b] = await t.openMany(2, { sessionTimeout: 1_000 });
      const path = t.path('election');
      const leader = await a!.election(path).campaign('a');
      const events: string[] = [];
      leader.signal.addEventListener('abort', () => events.push('old leader aborted'));
      const next = b!.election(path).campaign('b', { timeout: 20_000 }).then((held) => {
        events.push('next leader elected');
        return held;
      });
      await eventually(async () => (await queueLength(b!, path)) === 2, 'b queued');
      await t.expireSession(a!);
      const held = await next;
      expect(events).toEqual(['old leader aborted', 'next leader elected']);
      expect((leader.signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
      expect(held.token > leader.token).toBe(true);
      expect(await b!.election(path).leader()).toEqual({ value: 'b', token: held.token });
      await leader.resign(); // after loss: no throw
      await held.resign();
    });

    it('10 candidates, leaders killed one by one: exactly one leader at every observation, tokens increasing', async () => {
      const t = context();
      const coords = await t.openMany(10);
      const observer = await t.open();
      const path = t.path('election');
      const canExpire = fixture.faults.expireSession !== undefined;
      const live: Leadership<number>[] = [];
      const overlaps: string[] = [];
      const campaigns = coords.map((coord, i) =>
        coord.election<number>(path).campaign(i, { timeout: 60_000 }).then((held) => {
          for (const other of live) if (!other.signal.aborted) overlaps.push(`${i} elected while ${other.value} leads`);
          live.push(held);
          return held;
        }),
      );
      const watcher = observe<number>(observer, path);
      let lastToken = 0n;
      for (let round = 0; round < 10; round += 1) {
        await eventually(() => watcher.seen.some((seen) => seen !== undefined && seen.token > lastToken), `leader ${round} observed`, 20_000);
        const seen = watcher.seen.find((leader) => leader !== undefined && leader.token > lastToken)!;
        expect(seen.token > lastToken).toBe(true);
        lastToken = seen.token;
        const held = await campaigns[seen.value]!;
        expect(held.token).toBe(seen.token);
        // Exactly one candidate believes it leads, and it is the one observed.
        await eventually(() => live.filter((leadership) => !leadership.signal.aborted).length === 1, 'one live leader');
        expect(live.filter((leadership) => !leadership.signal.aborted)).toEqual([held]);
        expect(await observer.election(path).leader()).toEqual(seen);
        const coord = coords[seen.value]!;
        if (canExpire && round % 2 === 0) await t.expireSession(coord);
        else await coord.close();
        expect(held.signal.aborted).toBe(true);
      }
      await eventually(() => watcher.seen.at(-1) === undefined && watcher.seen.length > 1, 'no leader at the end');
      const tokens = watcher.seen.filter((leader) => leader !== undefined).map((leader) => leader.token);
      expect(tokens).toHaveLength(10);
      expect(tokens.every((token, i) => i === 0 || token > tokens[i - 1]!)).toBe(true);
      expect(overlaps).toEqual([]);
      expect(await queueLength(observer, path)).toBe(0);
      await watcher.stop();
    });
  });
}
