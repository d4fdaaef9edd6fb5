// Real Redis: a server's life cycle, and key deletion (session expiry) checked with ioredis.
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import { deleteRedisKey, eventually, serverStats, startRedis, type ServerHandle } from '../src/index.js';
import { portIsFree } from '../src/servers/ports.js';
import { withDeadline } from '../src/servers/net.js';
import { describeWith, failsWithin, ping, running } from './helpers.js';

const describeRedis = describeWith('redis');
const clients: Redis[] = [];

function client(server: ServerHandle): Redis {
  const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
  clients.push(redis);
  return redis;
}

afterEach(() => {
  for (const redis of clients.splice(0)) if (redis.status !== 'end') redis.disconnect();
});

describeRedis('Redis server', () => {
  let redis: ServerHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('serves on loopback with a Coord URL, its own directory and a log', async () => {
    expect(redis.kind).toBe('redis');
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(existsSync(redis.dataDir)).toBe(true);
    expect(redis.log()).toMatch(/Ready to accept connections/);
    expect(await client(redis).set('k', 'v1')).toBe('OK');
  });

  it('kill is a crash; restart comes back on the same port with the acknowledged writes', async () => {
    const before = redis.pid as number;
    await redis.kill();
    expect(redis.state).toBe('down');
    expect(running(before)).toBe(false);
    const refused = await failsWithin(2_000, (signal) => ping(redis.port, signal));
    expect(refused.message).toMatch(/ECONNREFUSED/);
    await redis.restart();
    expect(redis.state).toBe('running');
    expect(await client(redis).get('k')).toBe('v1');
  });

  it('pause hangs it (commands time out) until resume', async () => {
    await redis.pause();
    const error = await failsWithin(500, (signal) => ping(redis.port, signal));
    expect(error.message).toMatch(/timed out/);
    await redis.resume();
    expect(await withDeadline(2_000, (signal) => ping(redis.port, signal))).toBe('PONG');
  });

  it('deleteRedisKey deletes a session key: ioredis sees it gone', async () => {
    const ioredis = client(redis);
    await ioredis.set('coord:session:abc', '1', 'PX', 60_000);
    await ioredis.select(2);
    await ioredis.set('in-db-2', '1');
    expect(await deleteRedisKey(redis, 'coord:session:abc')).toBe(true);
    expect(await deleteRedisKey(redis.url, 'in-db-2', { db: 2 })).toBe(true);
    expect(await ioredis.exists('in-db-2')).toBe(0);
    await ioredis.select(0);
    expect(await ioredis.exists('coord:session:abc')).toBe(0);
    expect(await deleteRedisKey(redis, 'coord:session:abc')).toBe(false);
  });

  it('serverStats counts client connections and pub/sub subscriptions', async () => {
    const subscriber = client(redis);
    await subscriber.subscribe('coord:watch');
    await subscriber.psubscribe('coord:*');
    expect(await serverStats(redis)).toEqual({ sessions: 1, watches: 2, ephemeralNodes: undefined });
    subscriber.disconnect();
    await eventually(async () => (await serverStats(redis)).sessions === 0, 'connection closed', 5_000);
    expect(await serverStats(redis)).toEqual({ sessions: 0, watches: 0, ephemeralNodes: undefined });
  });

  it('stop is graceful, final, and leaves no process, directory or port behind', async () => {
    const pid = redis.pid as number;
    await redis.stop();
    expect(running(pid)).toBe(false);
    expect(existsSync(redis.dataDir)).toBe(false);
    expect(await portIsFree(redis.port)).toBe(true);
  });

  it('a server that cannot start is reported with the tail of its log', async () => {
    const error = await startRedis({ extraArgs: ['--no-such-option', 'x'] }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe('UNAVAILABLE');
    expect(error?.message).toMatch(/exited with code 1 before it was ready[\s\S]*no-such-option/);
  });
});
