// The Redis driver on a real server, for what the conformance suite cannot see: credentials,
// unreachable and silent servers, URL options, what close() leaves on the server, the
// eviction-policy check, a flushed script cache, and a holder that dies without a word.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { connect, type Coordinator } from 'coord';
import { MAX_NODE_DATA_BYTES, isCoordError, parseUrl, type CoordError } from '@coord/core';
import { createDriver } from '@coord/redis';
import { eventually, missingServer, proxyTarget, rejectedCoordError, serverAvailable, serverStats, startRedis, type ServerHandle } from '@coord/testing';

const CANARY = 'Canary-Pa55word';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every printable face of an error: the password must be in none of them. */
function faces(error: CoordError): string {
  return [error.message, String(error.stack), inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error), inspect(error.cause, { depth: 10 })].join('\n');
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Milliseconds `promise` takes to settle, and its CoordError. */
async function timedFailure(promise: Promise<unknown>): Promise<{ error: CoordError; ms: number }> {
  const start = performance.now();
  const error = await rejectedCoordError(promise);
  return { error, ms: performance.now() - start };
}

if (!serverAvailable('redis')) {
  describe.skip(`redis driver on a real server: ${missingServer('redis')}`, () => {
    it.todo('install redis-server to run these');
  });
} else {
  describe('redis driver on a real server', () => {
    let redis: ServerHandle;
    let admin: Redis;
    const opened = new Set<Coordinator>();
    const open = async (url: string): Promise<Coordinator> => {
      const coord = await connect(url);
      opened.add(coord);
      return coord;
    };

    beforeAll(async () => {
      redis = await startRedis();
      admin = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
      await admin.connect();
    });
    afterAll(async () => {
      await Promise.all([...opened].map((coord) => coord.close()));
      admin.disconnect();
      await redis.stop();
    });

    it('refuses wrong credentials with AUTH_FAILED at once, never showing the password', async () => {
      await admin.call('ACL', 'SETUSER', 'coord-user', 'on', '>right-pass', '~*', '&*', '+@all');
      const url = `redis://coord-user:${CANARY}@${redis.host}:${redis.port}?connectTimeout=8000`;
      const { error, ms } = await timedFailure(connect(url));
      expect(error.code).toBe('AUTH_FAILED');
      expect(ms).toBeLessThan(8_000);
      expect(faces(error)).not.toContain(CANARY);
      const coord = await open(`redis://coord-user:right-pass@${redis.host}:${redis.port}`);
      expect(coord.session.state).toBe('connected');
      expect(JSON.stringify(coord)).not.toContain('right-pass');
      expect(inspect(coord.driver, { depth: 5 })).not.toContain('right-pass');
      await coord.close();
    });

    it('works without client-side tracking when an ACL forbids CLIENT (warns; the heartbeat finds a lost session)', async () => {
      await admin.call('ACL', 'SETUSER', 'no-client', 'on', '>pw', '~*', '&*', '+@all', '-client');
      const warnings: string[] = [];
      const url = parseUrl(`redis://no-client:pw@${redis.host}:${redis.port}?prefix=acl&sessionTimeout=1500`);
      const driver = await createDriver(url, { onWarning: (message) => warnings.push(message) });
      try {
        expect(warnings.some((message) => message.includes('no client-side tracking'))).toBe(true);
        const node = await driver.create('/x', bytes('1'), { ephemeral: true });
        expect(node.owner).toBe(driver.session.id);
        const session = driver.session;
        await admin.del(driver.sessionKey());
        // Its owner does not know yet (no tracking): the node must outlive the deleted key until
        // the owner's signal has aborted, or someone could take what it still thinks it holds.
        const observer = await open(`${redis.url}?prefix=acl`);
        expect((await observer.driver.get('/x')).node?.owner).toBe(session.id);
        expect(session.signal.aborted).toBe(false);
        const start = performance.now();
        while (!session.signal.aborted && performance.now() - start < 3_000) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(isCoordError(session.signal.reason, 'SESSION_EXPIRED')).toBe(true);
        const gone = performance.now();
        while ((await observer.driver.get('/x')).node !== undefined && performance.now() - gone < 3_000) await new Promise((resolve) => setTimeout(resolve, 20));
        expect((await observer.driver.get('/x')).node).toBeUndefined();
        await observer.close();
      } finally {
        await driver.close();
      }
    });

    it('fails UNAVAILABLE within connectTimeout when nothing listens', async () => {
      const port = await closedPort();
      const { error, ms } = await timedFailure(connect(`redis://:${CANARY}@127.0.0.1:${port}?connectTimeout=1500`));
      expect(error.code).toBe('UNAVAILABLE');
      expect(ms).toBeLessThan(1_500 + 1_500);
      expect(faces(error)).not.toContain(CANARY);
    });

    it('bounds every request when the server goes silent (connect, then a read)', async () => {
      await using net = await proxyTarget(redis);
      net.blackhole();
      const silent = await timedFailure(connect(`${net.url}?connectTimeout=1500`));
      expect(['TIMEOUT', 'UNAVAILABLE']).toContain(silent.error.code);
      expect(silent.ms).toBeLessThan(1_500 + 1_500);
      net.heal();
      const coord = await open(`${net.url}?operationTimeout=1000&sessionTimeout=10000`);
      await coord.driver.create('/silence', bytes('x'));
      net.blackhole();
      const read = await timedFailure(coord.driver.get('/silence'));
      expect(['TIMEOUT', 'UNAVAILABLE', 'CONNECTION_LOSS']).toContain(read.error.code);
      expect(read.ms).toBeLessThan(1_000 + 1_500);
      net.heal();
      // Back to normal once the network is: the connection is re-established.
      expect((await coord.driver.get('/silence')).node?.version).toBe(0);
      await coord.driver.delete('/silence');
      await coord.close();
    });

    it('repeats a token-guarded set or delete after a lost reply, applying it once; refuses to guess without a token', async () => {
      await using net = await proxyTarget(redis);
      const coord = await open(`${net.url}?prefix=lost&sessionTimeout=60000`);
      const node = await coord.driver.create('/n', bytes('0'));
      expect(net.loseNextReply()).toBeGreaterThan(0);
      expect(await coord.driver.set('/n', bytes('1'), { token: node.token, version: 0 })).toBe(1);
      expect((await coord.driver.get('/n')).node?.version).toBe(1);
      net.loseNextReply();
      expect((await rejectedCoordError(coord.driver.set('/n', bytes('2')))).code).toBe('CONNECTION_LOSS');
      expect((await coord.driver.get('/n')).node?.version).toBe(2); // the request did arrive; only its reply was lost
      net.loseNextReply();
      expect(await coord.driver.delete('/n', { token: node.token })).toBe(true);
      expect(await coord.driver.delete('/n', { token: node.token })).toBe(false);
      expect(net.stats().lostReplies).toBeGreaterThanOrEqual(3);
      await coord.close();
    });

    it('rejects an oversized payload with PAYLOAD_TOO_LARGE without sending anything', async () => {
      const coord = await open(`${redis.url}?sessionTimeout=60000`);
      const before = await admin.info('stats');
      const error = await rejectedCoordError(coord.driver.create('/big', new Uint8Array(MAX_NODE_DATA_BYTES + 1)));
      const after = await admin.info('stats');
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      const processed = (info: string): number => Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
      expect(processed(after) - processed(before)).toBe(1); // the second INFO itself
      await coord.close();
    });

    it('keeps a namespace under its prefix (one hash tag) in the database the URL names', async () => {
      const coord = await open(`${redis.url}/3?prefix=app`);
      const driver = coord.driver as unknown as { sessionKey(): string };
      expect(driver.sessionKey()).toBe(`{app}:s:${coord.session.id}`);
      await coord.driver.create('/here', bytes('x'), { ephemeral: true });
      const db3 = new Redis({ host: redis.host, port: redis.port, db: 3 });
      try {
        expect(await db3.exists('{app}:n:/here', `{app}:s:${coord.session.id}`)).toBe(2);
        expect(await admin.exists('{app}:n:/here')).toBe(0);
        const keys = await db3.keys('*');
        expect(keys.every((key) => key.startsWith('{app}:'))).toBe(true);
      } finally {
        db3.disconnect();
      }
      await coord.close();
    });

    it('refuses a database the server does not have (INVALID_ARGUMENT, before any write); the last one it has works', async () => {
      const databases = Number((await admin.config('GET', 'databases'))[1]);
      expect(databases).toBe(16);
      const clientsBefore = (await admin.client('LIST') as string).trim().split('\n').length;
      // ioredis used to go ready on database 0 after the refused SELECT: the session key and
      // every node landed there.
      const { error } = await timedFailure(connect(`${redis.url}/99?prefix=db99`));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('database 99');
      expect(await admin.keys('{db99}:*')).toEqual([]);
      expect((await admin.client('LIST') as string).trim().split('\n').length).toBe(clientsBefore);
      const coord = await open(`${redis.url}/${databases - 1}?prefix=db15`);
      await coord.lock('/l').acquire();
      const last = new Redis({ host: redis.host, port: redis.port, db: databases - 1 });
      try {
        expect((await last.keys('{db15}:n:/l/*')).length).toBe(1);
        expect(await admin.keys('{db15}:*')).toEqual([]);
      } finally {
        last.disconnect();
      }
      await coord.close();
    });

    it('a wrapDriver that throws: connect closes the session it opened and rejects INVALID_ARGUMENT', async () => {
      const before = await serverStats(redis);
      const thrown = new Error('wrapper exploded');
      const error = await rejectedCoordError(
        connect(`${redis.url}?prefix=wrap`, {
          wrapDriver: () => {
            throw thrown;
          },
        }),
      );
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.cause).toBe(thrown);
      // The session key goes with close(); so do the connections (they kept the process alive).
      expect(await admin.keys('{wrap}:s:*')).toEqual([]);
      await eventually(async () => (await serverStats(redis)).sessions === before.sessions, 'the connections closed', 2_000);
      expect(await serverStats(redis)).toEqual(before);
    });

    it('close() deletes the session key and its ephemeral nodes, and closes its connections', async () => {
      const clientsBefore = (await admin.client('LIST') as string).trim().split('\n').length;
      const coord = await open(`${redis.url}?prefix=closing`);
      const session = coord.session.id;
      await coord.driver.create('/mine', bytes('x'), { ephemeral: true });
      const { changed } = await coord.driver.get('/elsewhere', { watch: true });
      const keys = [`{closing}:s:${session}`, `{closing}:l:${session}`, '{closing}:n:/mine', `{closing}:e:${session}`];
      expect(await admin.exists(...keys)).toBe(4);
      await coord.close();
      expect(await changed).toBe('session');
      expect(await admin.exists(...keys)).toBe(0);
      const deadline = performance.now() + 2_000;
      let clients = 0;
      do {
        clients = (await admin.client('LIST') as string).trim().split('\n').length;
      } while (clients > clientsBefore && performance.now() < deadline && (await new Promise((r) => setTimeout(r, 20)), true));
      expect(clients).toBe(clientsBefore);
      expect(await admin.pubsub('CHANNELS')).toEqual([]);
    });

    it('checks the eviction policy at connect: warns by default, fails on request', async () => {
      await admin.config('SET', 'maxmemory', '1gb');
      await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
      const warnings: string[] = [];
      try {
        const error = await rejectedCoordError(createDriver(parseUrl(redis.url), { evictionPolicy: 'fail' }));
        expect(error.code).toBe('UNAVAILABLE');
        expect(error.message).toContain('volatile-lru');
        const driver = await createDriver(parseUrl(redis.url), { onWarning: (message) => warnings.push(message) });
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('maxmemory-policy volatile-lru');
        await driver.close();
      } finally {
        await admin.config('SET', 'maxmemory', '0');
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
      }
    });

    it('reloads its scripts after the server forgot them (SCRIPT FLUSH)', async () => {
      const coord = await open(`${redis.url}?prefix=flush`);
      await coord.driver.create('/a', bytes('1'));
      await admin.script('FLUSH');
      expect(await coord.driver.set('/a', bytes('2'))).toBe(1);
      expect((await coord.driver.get('/a')).node?.version).toBe(1);
      expect(await coord.driver.delete('/a')).toBe(true);
      await coord.close();
    });

    it('a server that comes back empty ends every session: signals abort, clients carry on with new sessions', async () => {
      const volatile = await startRedis({ appendOnly: false });
      try {
        const [a, b] = [await open(`${volatile.url}?sessionTimeout=3000`), await open(`${volatile.url}?sessionTimeout=3000`)];
        const held = await a.lock('/l').acquire();
        const sessions = [a.session, b.session];
        await volatile.kill();
        await volatile.restart();
        // The keys are gone: the next heartbeat (a third of the TTL) finds out, terminally.
        const deadline = performance.now() + 5_000;
        while (!(held.signal.aborted && sessions.every((s) => s.signal.aborted)) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(isCoordError(held.signal.reason, 'SESSION_EXPIRED')).toBe(true);
        expect(sessions.map((s) => s.state)).toEqual(['expired', 'expired']);
        const again = await b.lock('/l').acquire({ timeout: 10_000 });
        expect(b.session.id).not.toBe(sessions[1]?.id);
        // The counter restarted with the data: tokens went backwards, as capabilities warn.
        expect(again.token <= held.token).toBe(true);
        expect(b.driver.capabilities.tokensSurviveFailover).toBe(false);
        await again.release();
        await held.release(); // lost: a no-op
        await Promise.all([a.close(), b.close()]);
      } finally {
        await volatile.stop();
      }
    });

    it('a flush of the database ends the session at once; a flush of another one does not', async () => {
      const coord = await open(`${redis.url}/4?prefix=flushing&sessionTimeout=60000`);
      const session = coord.session;
      const other = new Redis({ host: redis.host, port: redis.port, db: 5 });
      const mine = new Redis({ host: redis.host, port: redis.port, db: 4 });
      try {
        await other.flushdb();
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(session.state).toBe('connected');
        await mine.flushdb();
        const start = performance.now();
        // Told by the server, not found by the next heartbeat (20 s away with a 60 s TTL).
        while (!session.signal.aborted && performance.now() - start < 10_000) await new Promise((resolve) => setTimeout(resolve, 5));
        expect(isCoordError(session.signal.reason, 'SESSION_EXPIRED')).toBe(true);
      } finally {
        other.disconnect();
        mine.disconnect();
      }
      await coord.close();
    });

    it('1,000 concurrent acquires of one lock from one coordinator settle with a typed error and leave no waiter node', async () => {
      const waiters = await open(`${redis.url}?prefix=herd`);
      const holder = await open(`${redis.url}?prefix=herd`);
      const held = await holder.lock('/l').acquire();
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 1_000 }, () =>
          waiters.lock('/l').acquire({ timeout: 2_000 }).then(
            async (lease) => {
              await lease.release();
              return 'granted';
            },
            (error: unknown) => (isCoordError(error) ? error.code : String(error)),
          ),
        ),
      );
      const settled = performance.now() - started;
      // Before: ~12 s, mostly CONNECTION_LOSS (a timed-out request dropped the busy
      // connection and every request in flight with it), and up to 1,000 waiter nodes left
      // blocking the lock. Every waiter was queued behind a holder that never releases.
      // Nobody is granted and every call settles with a typed error: TIMEOUT on an idle
      // machine (1,000 of 1,000 here); on a loaded one the client reads its connection late,
      // takes it for silent and recycles it, and the requests in flight become lost replies,
      // CONNECTION_LOSS (up to ~70% with both cores busy) — a known weakness of the
      // silence check under CPU starvation, left for the performance issue.
      const unexpected = outcomes.filter((code) => code !== 'TIMEOUT' && code !== 'CONNECTION_LOSS');
      expect(unexpected).toEqual([]);
      expect(settled).toBeLessThan(30_000);
      // Clean-up deletes that missed their deadline are retried in the background (R5).
      await eventually(async () => (await holder.driver.children('/l')).nodes.length === 1, 'only the holder left', 15_000, 50);
      await held.release();
      await waiters.close();
      await holder.close();
    });

    it('declares that tokens may not survive a failover', async () => {
      const coord = await open(redis.url);
      expect(coord.driver.capabilities).toEqual({ linearizable: false, tokensSurviveFailover: false });
      await coord.close();
    });

    it('a holder that dies without a word loses its lock to the next waiter within about one TTL, with no other traffic', async () => {
      await using net = await proxyTarget(redis);
      const holder = await open(`${net.url}?sessionTimeout=2000&prefix=silent`);
      const waiter = await open(`${redis.url}?sessionTimeout=3000&prefix=silent`);
      const held = await holder.lock('/l').acquire();
      const next = waiter.lock('/l').acquire({ timeout: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const cut = performance.now();
      net.blackhole(); // the holder can neither renew nor say goodbye
      const lease = await next;
      const waited = performance.now() - cut;
      expect(held.signal.aborted).toBe(true);
      expect(lease.token > held.token).toBe(true);
      // Its key lapses one TTL (2 s) after the last renewal; the waiter's re-check (a third of
      // its 3 s TTL) prunes it. Generous bound for a loaded machine.
      expect(waited).toBeLessThan(2_000 + 1_000 + 2_000);
      await lease.release();
      net.heal();
      await holder.close();
      await waiter.close();
      expect(isCoordError(held.signal.reason, 'SESSION_EXPIRED')).toBe(true);
    });
  });
}
