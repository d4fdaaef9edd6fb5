/**
 * The fault proxy in front of a real `redis-server`, spoken to in raw RESP over node:net (no
 * client library), so what is checked is exactly what the server did and what the client saw.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { startFaultProxy, startRedis, type FaultProxy, type ServerHandle } from '../src/index.js';
import { eventually } from '../src/polling.js';
import { describeWith } from './helpers.js';
import { LineClient, type Outcome } from './support/line-client.js';

const SILENCE_MS = 300;

/** One RESP command (an array of bulk strings). */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

async function command(client: LineClient, ms: number, ...args: string[]): Promise<Outcome> {
  client.write(resp(...args));
  return client.next(ms);
}

// A missing redis-server is a visible skip outside CI and a failure under CI=true.
describeWith('redis')('FaultProxy with a real Redis', () => {
  let redis: ServerHandle;
  let proxy: FaultProxy;
  const clients: LineClient[] = [];

  async function open(port: number): Promise<LineClient> {
    const client = await LineClient.open(port);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: false });
  }, 20_000);
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: redis.port } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await proxy.close();
  });

  it('forwards RESP both ways', async () => {
    const client = await open(proxy.port);
    expect(await command(client, 5_000, 'PING')).toEqual({ line: '+PONG' });
    expect(await command(client, 5_000, 'SET', 'plain', 'yes')).toEqual({ line: '+OK' });
    const direct = await open(redis.port);
    expect(await command(direct, 5_000, 'GET', 'plain')).toEqual({ line: '$3' });
    expect(await direct.next(5_000)).toEqual({ line: 'yes' });
  });

  it('dropReplies(): the SET happens on the server, the proxied client sees no reply', async () => {
    const client = await open(proxy.port);
    expect(await command(client, 5_000, 'PING')).toEqual({ line: '+PONG' });
    proxy.dropReplies();
    expect(await command(client, SILENCE_MS, 'SET', 'dropped', 'applied')).toEqual({ timeout: true });
    const direct = await open(redis.port);
    expect(await command(direct, 5_000, 'GET', 'dropped')).toEqual({ line: '$7' });
    expect(await direct.next(5_000)).toEqual({ line: 'applied' });
    proxy.heal();
    expect(await client.next(5_000)).toEqual({ error: 'ECONNRESET' });
    expect(await command(await open(proxy.port), 5_000, 'PING')).toEqual({ line: '+PONG' });
  });

  it('loseNextReply(): the SET happens, the client gets ECONNRESET, a reconnect works', async () => {
    const client = await open(proxy.port);
    expect(await command(client, 5_000, 'PING')).toEqual({ line: '+PONG' });
    expect(proxy.loseNextReply()).toBe(1);
    expect(await command(client, 5_000, 'INCR', 'lost-reply-counter')).toEqual({ error: 'ECONNRESET' });
    const direct = await open(redis.port);
    expect(await command(direct, 5_000, 'GET', 'lost-reply-counter')).toEqual({ line: '$1' });
    expect(await direct.next(5_000)).toEqual({ line: '1' });
    const again = await open(proxy.port);
    expect(await command(again, 5_000, 'INCR', 'lost-reply-counter')).toEqual({ line: ':2' });
    expect(proxy.stats.lostReplies).toBe(1);
  });

  it('blackhole(): a raw client times out and the command never reaches Redis', async () => {
    const client = await open(proxy.port);
    expect(await command(client, 5_000, 'PING')).toEqual({ line: '+PONG' });
    proxy.blackhole();
    expect(await command(client, SILENCE_MS, 'SET', 'blackholed', '1')).toEqual({ timeout: true });
    const direct = await open(redis.port);
    expect(await command(direct, 5_000, 'EXISTS', 'blackholed')).toEqual({ line: ':0' });
  });

  it('reset(): the client gets ECONNRESET and Redis drops the connection', async () => {
    const client = await open(proxy.port);
    const id = await command(client, 5_000, 'CLIENT', 'ID');
    if (!('line' in id)) throw new Error(`CLIENT ID failed: ${JSON.stringify(id)}`);
    const direct = await open(redis.port);
    // `CLIENT LIST ID n` answers a bulk string: `$0` once the connection is gone.
    const listed = async (): Promise<boolean> => {
      const header = await command(direct, 5_000, 'CLIENT', 'LIST', 'ID', id.line.slice(1));
      for (let line = await direct.next(5_000); 'line' in line && line.line !== ''; line = await direct.next(5_000));
      return !('line' in header && header.line === '$0');
    };
    expect(await listed()).toBe(true);
    expect(proxy.reset()).toBe(1);
    expect(await client.next(5_000)).toEqual({ error: 'ECONNRESET' });
    await eventually(async () => !(await listed()), 'Redis no longer lists the proxied connection');
  });
});
