import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { WatchEvent } from '@coord/core';
import type { Connection } from '../src/connection.js';
import { Layout } from '../src/layout.js';
import { WatchHub } from '../src/watches.js';

/** Just enough of a Connection for the hub: events, readiness, (un)subscribe calls recorded. */
class FakeConnection {
  readonly client = Object.assign(new EventEmitter(), {
    unsubscribed: [] as string[],
    subscribed: [] as string[][],
    unsubscribe: async (channel: string): Promise<void> => void this.client.unsubscribed.push(channel),
    subscribe: async (...channels: string[]): Promise<void> => void this.client.subscribed.push(channels),
  });
  ready = true;

  /** Delivers a pub/sub message as ioredis does (`messageBuffer`). */
  publish(channel: string, message: string): void {
    this.client.emit('messageBuffer', Buffer.from(channel), Buffer.from(message));
  }
}

const layout = new Layout('t');
const session = (): { signal: AbortSignal; end: () => void } => {
  const controller = new AbortController();
  return { signal: controller.signal, end: () => controller.abort() };
};

/** A hub over a fake connection; `read` answers with the given revision and fingerprint. */
function setUp(recheckMs = 60_000): { hub: WatchHub; conn: FakeConnection } {
  const conn = new FakeConnection();
  return { hub: new WatchHub(layout, recheckMs, conn as unknown as Connection), conn };
}

async function watch(hub: WatchHub, owner: { signal: AbortSignal }, rev: number, options: { signal?: AbortSignal; state?: () => string } = {}) {
  const subscribes: (string | undefined)[] = [];
  const state = options.state ?? (() => 'same');
  const result = await hub.watch(
    '/a',
    'n',
    owner,
    options.signal,
    async (subscribe) => {
      subscribes.push(subscribe());
      return { revision: rev, fingerprint: String(state()) };
    },
    async () => ({ revision: rev, fingerprint: String(state()) }),
  );
  return { ...result, subscribes };
}

const settled = (promise: Promise<WatchEvent>): Promise<WatchEvent | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 20))]);

describe('WatchHub', () => {
  it('subscribes with the first read only, and ignores changes at or below the read\'s revision', async () => {
    const { hub, conn } = setUp();
    const owner = session();
    const first = await watch(hub, owner, 10);
    expect(first.subscribes).toEqual([layout.channel('/a')]);
    const second = await watch(hub, owner, 12);
    expect(second.subscribes).toEqual([undefined]); // already subscribed: no SUBSCRIBE
    conn.publish(layout.channel('/a'), '10 n'); // old news for both
    conn.publish(layout.channel('/a'), '11 c'); // a child change: not a node watch's business
    expect(await settled(first.changed)).toBe('pending');
    conn.publish(layout.channel('/a'), '11 n'); // news to the first, old to the second
    expect(await settled(first.changed)).toBe('changed');
    expect(await settled(second.changed)).toBe('pending');
    conn.publish(layout.channel('/a'), '13 n');
    expect(await second.changed).toBe('changed');
    expect(conn.client.unsubscribed).toEqual([layout.channel('/a')]); // the last watch went
    expect(hub.size).toBe(0);
  });

  it('fires at once when a change landed between the subscription and the read\'s reply', async () => {
    const { hub, conn } = setUp();
    const changed = hub.watch(
      '/a',
      'n',
      session(),
      undefined,
      async () => {
        conn.publish(layout.channel('/a'), '8 n'); // arrives before the read's reply
        return { revision: 7, fingerprint: 'x' };
      },
      async () => ({ revision: 7, fingerprint: 'x' }),
    );
    expect(await (await changed).changed).toBe('changed');
  });

  it('resolves "cancelled" on abort and "session" when its session ends, leaving nothing armed', async () => {
    const { hub } = setUp();
    const owner = session();
    const controller = new AbortController();
    const cancelled = await watch(hub, owner, 1, { signal: controller.signal });
    const ended = await watch(hub, owner, 1);
    controller.abort();
    expect(await cancelled.changed).toBe('cancelled');
    owner.end();
    hub.sessionEnded(owner);
    expect(await ended.changed).toBe('session');
    expect(hub.size).toBe(0);
  });

  it('re-reads armed watches on its interval: fires only when what it sees differs', async () => {
    const { hub } = setUp(30);
    let state = 'before';
    const armed = await watch(hub, session(), 1, { state: () => state });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await settled(armed.changed)).toBe('pending'); // re-read, nothing changed: no wake-up
    state = 'after';
    expect(await armed.changed).toBe('changed');
    hub.close();
  });

  it('after a reconnection subscribes again to what armed watches need', async () => {
    const { hub, conn } = setUp();
    const armed = await watch(hub, session(), 1);
    conn.client.emit('close');
    conn.client.emit('ready');
    expect(conn.client.subscribed).toEqual([[layout.channel('/a')]]);
    hub.close();
    expect(await armed.changed).toBe('session');
  });
});
