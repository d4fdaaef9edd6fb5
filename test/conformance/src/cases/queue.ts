/**
 * The queue recipe: ordering by priority then FIFO, waiting takes, at-least-once delivery
 * (nack and dead consumers give messages back, acks are final, no message held twice at
 * once), no herd among waiting takers, clean consume loops, codecs, and request counts.
 */
import { describe, expect, it } from '@jest/globals';
import { rawCodec, type Coordinator, type Message } from 'coord';
import { canLoseSession, type DriverFixture, type SessionLoss } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { delay, errorCode, eventually, rejectionCode } from '../util.js';

/**
 * Marks a promise the test awaits later as handled, so that a test failing before then
 * reports its own failure instead of an unhandled rejection when the coordinators close.
 */
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Registers the queue cases. */
export function queueCases(fixture: DriverFixture, context: () => TestContext): void {
  const withHook = (hook: keyof DriverFixture['faults']) => (fixture.faults[hook] === undefined ? it.skip : it);
  const withLoss = (how: SessionLoss) => (canLoseSession(fixture, how) ? it : it.skip);
  const count = async (coord: Coordinator, dir: string): Promise<number> => (await coord.driver.children(dir)).nodes.length;
  /** Asserts nobody holds a claim or waits in the line of takers. */
  const expectIdle = async (coord: Coordinator, path: string): Promise<void> => {
    expect(await count(coord, `${path}/claims`)).toBe(0);
    expect(await count(coord, `${path}/takers`)).toBe(0);
  };
  const takeAll = async (coord: Coordinator, path: string, n: number): Promise<unknown[]> => {
    const values: unknown[] = [];
    for (let i = 0; i < n; i += 1) {
      const message = await coord.queue(path).take({ timeout: 10_000 });
      values.push(message.value);
      await message.ack();
    }
    return values;
  };

  describe('queue', () => {
    it('delivers lower priorities first, FIFO within a priority', async () => {
      const t = context();
      const [producer, consumer] = await t.openMany(2);
      const path = t.path('queue');
      const queue = producer!.queue<string>(path);
      const puts: [string, number][] = [['a', 5], ['b', 0], ['c', 5], ['d', -3], ['e', 0], ['f', 2 ** 31 - 1], ['g', -(2 ** 31)], ['h', -3]];
      for (const [value, priority] of puts) await queue.put(value, { priority });
      await queue.put('i'); // default priority 0
      expect(await takeAll(consumer!, path, 9)).toEqual(['g', 'd', 'h', 'b', 'e', 'i', 'a', 'c', 'f']);
      await expectIdle(consumer!, path);
    });

    it('take waits for a put', async () => {
      const t = context();
      const [producer, consumer] = await t.openMany(2);
      const path = t.path('queue');
      let taken = false;
      const waiting = background(
        consumer!.queue(path).take({ timeout: 10_000 }).then((message) => {
          taken = true;
          return message;
        }),
      );
      await eventually(async () => (await count(producer!, `${path}/takers`)) === 1, 'taker waiting');
      await delay(20);
      expect(taken).toBe(false);
      const id = await producer!.queue(path).put({ job: 1 });
      const message = await waiting;
      expect(message.id).toBe(id);
      expect(message.value).toEqual({ job: 1 });
      await message.ack();
      await expectIdle(producer!, path);
    });

    it('times out with TIMEOUT and leaves no claim or taker behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const started = performance.now();
      expect(await rejectionCode(a!.queue(path).take({ timeout: 150 }))).toBe('TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      // Also when waiting in line behind another taker, and when all items are claimed.
      const head = background(b!.queue(path).take({ timeout: 10_000 }));
      await eventually(async () => (await count(a!, `${path}/takers`)) === 1, 'head taker waiting');
      expect(await rejectionCode(a!.queue(path).take({ timeout: 100 }))).toBe('TIMEOUT');
      await a!.queue(path).put('x');
      const held = await head;
      expect(await rejectionCode(a!.queue(path).take({ timeout: 100 }))).toBe('TIMEOUT');
      expect(await count(a!, `${path}/takers`)).toBe(0);
      expect(await count(a!, `${path}/claims`)).toBe(1);
      await held.ack();
      await expectIdle(a!, path);
    });

    it('aborts with ABORTED (before the call, at the head, in line) and leaves nothing behind', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const gone = new AbortController();
      gone.abort(new Error('never mind'));
      const before = t.counting(a!).counts.children;
      expect(await rejectionCode(a!.queue(path).take({ signal: gone.signal }))).toBe('ABORTED');
      expect(t.counting(a!).counts.children).toBe(before);
      const headStop = new AbortController();
      const lineStop = new AbortController();
      const head = background(a!.queue(path).take({ signal: headStop.signal }));
      await eventually(async () => (await count(b!, `${path}/takers`)) === 1, 'head waiting');
      const inLine = background(b!.queue(path).take({ signal: lineStop.signal }));
      await eventually(async () => (await count(b!, `${path}/takers`)) === 2, 'second taker in line');
      lineStop.abort();
      expect(await rejectionCode(inLine)).toBe('ABORTED');
      headStop.abort();
      expect(await rejectionCode(head)).toBe('ABORTED');
      await expectIdle(a!, path);
      expect(await a!.queue(path).size()).toBe(0);
    });

    it('nack returns the message, which is delivered again (to a waiting consumer too) with a greater token', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const id = await a!.queue(path).put('work');
      const first = await a!.queue(path).take();
      const waiting = background(b!.queue(path).take({ timeout: 10_000 }));
      await eventually(async () => (await count(a!, `${path}/takers`)) === 1, 'b waiting');
      await first.nack();
      expect(first.state).toBe('nacked');
      const second = await waiting;
      expect(second.id).toBe(id);
      expect(second.value).toBe('work');
      expect(second.token > first.token).toBe(true);
      expect(await rejectionCode(first.ack())).toBe('LOST');
      await first.nack(); // idempotent
      await second.ack();
      await expectIdle(a!, path);
    });

    it('ack is final: idempotent, never delivered again, nack after ack is a no-op', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      await a!.queue(path).put(1);
      await a!.queue(path).put(2);
      const message = await a!.queue(path).take();
      expect(message.value).toBe(1);
      await Promise.all([message.ack(), message.ack()]);
      await message.nack();
      await message[Symbol.asyncDispose]();
      expect(message.state).toBe('acked');
      const next = await b!.queue(path).take({ timeout: 10_000 });
      expect(next.value).toBe(2);
      await next.ack();
      expect(await rejectionCode(b!.queue(path).take({ timeout: 100 }))).toBe('TIMEOUT');
      expect(await a!.queue(path).size()).toBe(0);
      await expectIdle(a!, path);
    });

    it('disposing an un-acked message nacks it; an `await using` block that throws gives it back', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('queue');
      const queue = coord.queue<string>(path);
      await queue.put('job');
      let escaped: Message<string> | undefined;
      await expect(
        (async () => {
          await using message = await queue.take();
          escaped = message;
          throw new Error('handler failed');
        })(),
      ).rejects.toThrow('handler failed');
      expect(escaped?.state).toBe('nacked');
      {
        await using again = await queue.take({ timeout: 5_000 });
        expect(again.id).toBe(escaped?.id);
        await again.ack();
      }
      expect(await queue.size()).toBe(0);
      await expectIdle(coord, path);
    });

    withHook('expireSession')("a consumer's session expiry returns its message, even to a consumer already waiting", async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const id = await b!.queue(path).put({ n: 1 });
      const held = await a!.queue(path).take();
      const signal = held.signal;
      const waiting = background(b!.queue(path).take({ timeout: 20_000 }));
      await eventually(async () => (await count(b!, `${path}/takers`)) === 1, 'b waiting');
      await fixture.faults.expireSession!(t.raw(a!));
      const again = await waiting;
      expect(signal.aborted).toBe(true);
      expect((signal.reason as { code?: string }).code).toBe('SESSION_EXPIRED');
      expect(again.id).toBe(id);
      expect(again.token > held.token).toBe(true);
      expect(await rejectionCode(held.ack())).toBe('SESSION_EXPIRED');
      await held.nack(); // after loss: no throw
      await again.ack();
      await expectIdle(b!, path);
      // The consumer carries on with its coordinator's fresh session.
      await eventually(() => a!.session.state === 'connected', 'fresh session');
      await b!.queue(path).put({ n: 2 });
      const later = await a!.queue(path).take({ timeout: 10_000 });
      expect(later.value).toEqual({ n: 2 });
      await later.ack();
    });

    for (const hook of ['expireSession', 'stopRenewing'] as const) {
      withLoss(hook)(`consumer session lost (${hook}): its message's signal aborts before the message is delivered again`, async () => {
        const t = context();
        const a = await t.openLosable({ sessionTimeout: 1_000 });
        const b = await t.open({ sessionTimeout: 1_000 });
        const path = t.path('queue');
        await b.queue(path).put('job');
        const held = await a.queue(path).take();
        const events: string[] = [];
        held.signal.addEventListener('abort', () => events.push('holder aborted'));
        const again = background(
          b.queue(path).take({ timeout: 20_000 }).then((message) => {
            events.push('delivered again');
            return message;
          }),
        );
        await eventually(async () => (await count(b, `${path}/takers`)) === 1, 'b waiting');
        await t.loseSession(hook, a);
        const message = await again;
        expect(events).toEqual(['holder aborted', 'delivered again']);
        expect(message.id).toBe(held.id);
        expect(message.token > held.token).toBe(true);
        expect(await rejectionCode(held.ack())).toBe('SESSION_EXPIRED');
        await message.ack();
        await expectIdle(b, path);
      });
    }

    it("aborts a message's signal when someone else deletes its claim, and then refuses to ack it", async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      await a!.queue(path).put('job');
      const held = await a!.queue(path).take();
      const signal = held.signal;
      await delay(10);
      expect(await b!.driver.delete(`${path}/claims/${held.id}`)).toBe(true);
      await eventually(() => signal.aborted, 'holder signal aborted');
      expect((signal.reason as { code?: string }).code).toBe('LOST');
      expect(await rejectionCode(held.ack())).toBe('LOST');
      await held.nack();
      const again = await b!.queue(path).take();
      expect(again.id).toBe(held.id);
      await again.ack();
      await expectIdle(a!, path);
    });

    withHook('expireSession')('a waiting take whose session expires rejects and leaves nothing', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const head = background(a!.queue(path).take({ timeout: 20_000 }));
      await eventually(async () => (await count(b!, `${path}/takers`)) === 1, 'a waiting');
      const inLine = background(b!.queue(path).take({ timeout: 20_000 }));
      await eventually(async () => (await count(a!, `${path}/takers`)) === 2, 'b in line');
      await fixture.faults.expireSession!(t.raw(a!));
      expect(await rejectionCode(head)).toBe('SESSION_EXPIRED');
      await a!.queue(path).put('x'); // on a's fresh session; b is now the head
      const message = await inLine;
      expect(message.value).toBe('x');
      await message.ack();
      await expectIdle(a!, path);
    });

    it('a coordinator that closes gives its messages back and fails its pending take with CLOSED', async () => {
      const t = context();
      const [a, b, c] = await t.openMany(3);
      const path = t.path('queue');
      await b!.queue(path).put('m');
      const held = await a!.queue(path).take();
      const pending = background(c!.queue(path).take({ timeout: 10_000 }));
      await eventually(async () => (await count(b!, `${path}/takers`)) === 1, 'c waiting');
      await c!.close();
      expect(await rejectionCode(pending)).toBe('CLOSED');
      await a!.close();
      expect(await rejectionCode(held.ack())).toBe('CLOSED');
      const again = await b!.queue(path).take({ timeout: 10_000 });
      expect(again.id).toBe(held.id);
      await again.ack();
      expect(await errorCode(() => a!.queue(path))).toBe('CLOSED');
      await expectIdle(b!, path);
    });

    it('two consumers never hold the same message at once (5 consumers, random acks and nacks)', async () => {
      const t = context();
      const coords = await t.openMany(5);
      const path = t.path('queue');
      const total = 60;
      for (let i = 0; i < total; i += 1) await coords[0]!.queue(path).put(i);
      const holding = new Set<string>();
      const overlaps: string[] = [];
      const acked = new Set<unknown>();
      let nacks = 0;
      const worker = async (coord: Coordinator): Promise<void> => {
        while (acked.size < total) {
          let message: Message<unknown>;
          try {
            message = await coord.queue(path).take({ timeout: 200 });
          } catch (error) {
            if ((error as { code?: string }).code === 'TIMEOUT') continue;
            throw error;
          }
          if (holding.has(message.id)) overlaps.push(message.id);
          holding.add(message.id);
          await delay(Math.random() * 3);
          holding.delete(message.id); // before settling: the message may be re-delivered at once
          if (Math.random() < 0.3) {
            nacks += 1;
            await message.nack();
          } else {
            await message.ack();
            acked.add(message.value);
          }
        }
      };
      await Promise.all(coords.map(worker));
      expect(overlaps).toEqual([]);
      expect(acked.size).toBe(total);
      expect(nacks).toBeGreaterThan(0);
      expect(await coords[0]!.queue(path).size()).toBe(0);
      await expectIdle(coords[0]!, path);
    });

    it('takes of one coordinator (one session) never share a message', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('queue');
      const queue = coord.queue<number>(path);
      await queue.put(1);
      await queue.put(2);
      const takes = await Promise.allSettled([0, 1, 2, 3].map(() => queue.take({ timeout: 300 })));
      const taken = takes.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      expect(taken.map((message) => message.value).sort()).toEqual([1, 2]);
      expect(takes.filter((result) => result.status === 'rejected').map((result) => (result.reason as { code?: string }).code)).toEqual(['TIMEOUT', 'TIMEOUT']);
      await Promise.all(taken.map((message) => message.ack()));
      await expectIdle(coord, path);
    });

    for (const kill of ['close', 'expireSession'] as const) {
      (kill === 'close' ? it : withHook(kill))(`3 consumers x 200 items, one killed mid-stream (${kill}): every item acked exactly once`, async () => {
        const t = context();
        const [producer, ...consumers] = await t.openMany(4);
        const path = t.path('queue');
        const total = 200;
        const acks = new Map<number, number>();
        const deliveries = new Map<string, number>();
        const done = new AbortController();
        let killedHolding: string | undefined;
        const consumer = async (coord: Coordinator, dieAt?: number): Promise<void> => {
          let seen = 0;
          try {
            for await (const message of coord.queue<number>(path).consume({ signal: done.signal })) {
              seen += 1;
              deliveries.set(message.id, (deliveries.get(message.id) ?? 0) + 1);
              if (seen === dieAt) {
                killedHolding = message.id;
                if (kill === 'close') await coord.close();
                else await fixture.faults.expireSession!(t.raw(coord));
                expect(['CLOSED', 'SESSION_EXPIRED']).toContain(await rejectionCode(message.ack()));
                return; // leaving the loop: its nack is a no-op now
              }
              if (Math.random() < 0.2) await delay(Math.random() * 2);
              await message.ack();
              acks.set(message.value, (acks.get(message.value) ?? 0) + 1);
              if (acks.size === total) done.abort();
            }
          } catch (error) {
            if (dieAt === undefined) throw error;
          }
        };
        const producing = (async () => {
          for (let i = 0; i < total; i += 1) await producer!.queue(path).put(i);
        })();
        await Promise.all([producing, consumer(consumers[0]!), consumer(consumers[1]!), consumer(consumers[2]!, 20)]);
        expect(killedHolding).toBeDefined();
        expect(acks.size).toBe(total);
        expect([...acks.values()].every((n) => n === 1)).toBe(true);
        expect([...acks.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i));
        // Only the killed consumer's message may have been delivered twice.
        const redelivered = [...deliveries].filter(([, n]) => n > 1).map(([id]) => id);
        expect(redelivered).toEqual([killedHolding]);
        expect(await producer!.queue(path).size()).toBe(0);
        await expectIdle(producer!, path);
      });
    }

    it('no herd: with 10 waiting takers, each put wakes one taker (at most 2 wake-ups)', async () => {
      const t = context();
      const coords = await t.openMany(10);
      const path = t.path('queue');
      const taken: Message<unknown>[] = [];
      const takes = coords.map((coord) => background(coord.queue(path).take({ timeout: 30_000 }).then((message) => void taken.push(message))));
      await eventually(() => coords.every((coord) => t.counting(coord).counts.watchesArmed > 0), '10 takers waiting');
      for (let i = 1; i <= 10; i += 1) {
        const before = t.wakeUps(coords);
        await coords[0]!.queue(path).put(i);
        await eventually(() => taken.length === i, `take ${i} served`);
        // The head's wake-up, and the hand-over of the head to the next in line.
        await delay(20);
        expect(taken).toHaveLength(i);
        const woken = t.wakeUps(coords) - before;
        expect(woken).toBeGreaterThanOrEqual(1);
        expect(woken).toBeLessThanOrEqual(2);
      }
      await Promise.all(takes);
      expect(taken.map((message) => message.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await Promise.all(taken.map((message) => message.ack()));
      await expectIdle(coords[0]!, path);
    });

    it('consume() nacks the un-acked message and stops cleanly on break', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('queue');
      const queue = coord.queue<number>(path);
      for (let i = 0; i < 5; i += 1) await queue.put(i);
      const seen: number[] = [];
      let last: Message<number> | undefined;
      for await (const message of queue.consume()) {
        seen.push(message.value);
        last = message;
        if (message.value === 2) break;
        await message.ack();
      }
      expect(seen).toEqual([0, 1, 2]);
      expect(last?.state).toBe('nacked');
      expect(await queue.size()).toBe(3);
      await expectIdle(coord, path);
      expect(await takeAll(coord, path, 3)).toEqual([2, 3, 4]);
    });

    it('consume() ends quietly when its signal aborts (while waiting, and while a message is held)', async () => {
      const t = context();
      const [a, b] = await t.openMany(2);
      const path = t.path('queue');
      const stop = new AbortController();
      const held: Message<unknown>[] = [];
      const loop = background((async () => {
        for await (const message of a!.queue(path).consume({ signal: stop.signal })) {
          held.push(message);
          if (held.length === 1) await message.ack(); // the second stays held
        }
      })());
      await b!.queue(path).put('one');
      await b!.queue(path).put('two');
      await eventually(() => held.length === 2, 'two delivered');
      await eventually(async () => (await count(b!, `${path}/takers`)) === 1, 'consumer waiting again');
      stop.abort();
      await loop;
      expect(held.map((message) => message.state)).toEqual(['acked', 'nacked']);
      await expectIdle(b!, path);
      expect(await takeAll(b!, path, 1)).toEqual(['two']);
      // An already aborted signal: the loop does not even start.
      for await (const message of a!.queue(path).consume({ signal: stop.signal })) throw new Error(`got ${message.id}`);
    });

    it('size() counts messages not yet acked, taken ones included', async () => {
      const t = context();
      const coord = await t.open();
      const queue = coord.queue(t.path('queue'));
      expect(await queue.size()).toBe(0);
      for (let i = 0; i < 4; i += 1) await queue.put(i, { priority: i % 2 });
      expect(await queue.size()).toBe(4);
      const first = await queue.take();
      const second = await queue.take();
      expect(await queue.size()).toBe(4);
      await first.nack();
      expect(await queue.size()).toBe(4);
      await second.ack();
      expect(await queue.size()).toBe(3);
    });

    it('round-trips values through the JSON codec (default) and the raw codec', async () => {
      const t = context();
      const coord = await t.open();
      const json = coord.queue(t.path('json'));
      const values: unknown[] = ['text', 42, -0.5, true, null, [1, 'two', { three: 3 }], { nested: { list: [] as unknown[], é: 'ü✓' } }];
      for (const value of values) await json.put(value);
      expect(await takeAll(coord, t.path('json'), values.length)).toEqual(values);
      const raw = coord.queue(t.path('raw'), { codec: rawCodec });
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await raw.put(bytes);
      await raw.put(new Uint8Array(0));
      const first = await raw.take();
      expect(first.value).toBeInstanceOf(Uint8Array);
      expect([...first.value]).toEqual([...bytes]);
      await first.ack();
      const empty = await raw.take();
      expect(empty.value).toHaveLength(0);
      await empty.ack();
    });

    it('a value the codec cannot decode throws from `value`; the message can still be acked', async () => {
      const t = context();
      const coord = await t.open();
      const path = t.path('queue');
      await coord.queue(path, { codec: rawCodec }).put(Uint8Array.of(0xff, 0xfe));
      const message = await coord.queue(path).take();
      expect(await errorCode(() => message.value)).toBe('INVALID_ARGUMENT');
      expect([...message.data]).toEqual([0xff, 0xfe]);
      await message.ack();
      expect(await coord.queue(path).size()).toBe(0);
    });

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const t = context();
      const coord = await t.open();
      const queue = coord.queue(t.path('queue'));
      expect(await errorCode(() => coord.queue('relative'))).toBe('INVALID_ARGUMENT');
      for (const priority of [1.5, Number.NaN, 2 ** 31, -(2 ** 31) - 1, Number.POSITIVE_INFINITY, '1' as unknown as number]) {
        expect(await errorCode(() => queue.put('x', { priority }))).toBe('INVALID_ARGUMENT');
      }
      expect(await errorCode(() => queue.put(() => 1))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(() => queue.take({ timeout: -1 }))).toBe('INVALID_ARGUMENT');
      expect(await queue.size()).toBe(0);
    });

    it('fast path: put is 1 request, take 5 (3 reads in parallel, a claim, a read), ack 2, nack 1', async () => {
      const t = context();
      const coord = await t.open();
      const counts = t.counting(coord).counts;
      const queue = coord.queue(t.path('queue'));
      const snapshot = (): Record<string, number> => ({ ...counts });
      const diff = (before: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(snapshot()).map(([key, value]) => [key, value - (before[key] ?? 0)]).filter(([, n]) => n !== 0));
      let before = snapshot();
      await queue.put('a');
      await queue.put('b');
      expect(diff(before)).toEqual({ createSequential: 2 });
      before = snapshot();
      const a = await queue.take();
      expect(diff(before)).toEqual({ children: 3, create: 1, get: 1 });
      before = snapshot();
      await a.ack();
      expect(diff(before)).toEqual({ delete: 2 });
      before = snapshot();
      const b = await queue.take();
      await b.nack();
      expect(diff(before)).toEqual({ children: 3, create: 1, get: 1, delete: 1 });
      const again = await queue.take();
      await again.ack();
    });
  });
}
