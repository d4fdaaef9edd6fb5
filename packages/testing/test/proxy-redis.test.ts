/**
 * The fault proxy in front of a real `redis-server`, spoken to in raw RESP over node:net (no
 * client library), so what is checked is exactly what the server did and what the client saw.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../src/index.js';
import { eventually } from '../src/polling.js';
import { LineClient, type Outcome } from './support/line-client.js';
import { unusedPort } from './support/servers.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const SILENCE_MS = 300;

/** One RESP command (an array of bulk strings). */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

async function command(client: LineClient, ms: number, ...args: string[]): Promise<Outcome> {
  client.write(resp(...args));
  return client.next(ms);
}

interface Redis {
  readonly port: number;
  readonly process: ChildProcess;
  readonly dir: string;
  readonly log: string[];
}

async function startRedis(): Promise<Redis> {
  const dir = await mkdtemp(join(tmpdir(), 'coord-proxy-redis-'));
  const port = await unusedPort();
  const log: string[] = [];
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  // If the test process dies before afterAll, the server must not outlive it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const redis = { port, process: child, dir, log };
  const until = performance.now() + 10_000;
  while (performance.now() < until && child.exitCode === null) {
    const client = await LineClient.open(port).catch(() => undefined);
    const answer = client && (await command(client, 1_000, 'PING'));
    await client?.close();
    if (answer && 'line' in answer && answer.line === '+PONG') return redis;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopRedis(redis);
  throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${log.join('')}`);
}

async function stopRedis(redis: Redis): Promise<void> {
  if (redis.process.exitCode === null && redis.process.signalCode === null) {
    const exited = new Promise((resolve) => redis.process.once('exit', resolve));
    redis.process.kill('SIGKILL');
    await exited;
  }
  await rm(redis.dir, { recursive: true, force: true });
}

const available = existsSync(REDIS_SERVER);
if (!available && process.env['CI'] === 'true') {
  describe('FaultProxy with a real Redis', () => {
    it('needs redis-server', () => {
      throw new Error(`${REDIS_SERVER} is missing: install the Debian package redis-server`);
    });
  });
}

// Outside CI a missing redis-server is a visible skip (install the Debian package redis-server).
(available ? describe : describe.skip)('FaultProxy with a real Redis', () => {
  let redis: Redis;
  let proxy: FaultProxy;
  const clients: LineClient[] = [];

  async function open(port: number): Promise<LineClient> {
    const client = await LineClient.open(port);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    if (redis !== undefined) await stopRedis(redis);
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
