// The etcd driver's own tests against a real etcd: what the backend-neutral suite cannot
// check — credentials, unreachable and silent servers, the URL's prefix and TTL, one lease
// per session, and that a revoked lease's nodes are never read as existing.
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Coordinator } from 'coord';
import { isCoordError, MAX_NODE_DATA_BYTES, type CoordError } from '@coord/core';
import {
  missingServer,
  rejectedCoordError,
  revokeEtcdLease,
  serverAvailable,
  serverStats,
  startEtcd,
  startFaultProxy,
  type ServerHandle,
} from '@coord/testing';
import { eventually } from '../src/util.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** One call of etcd's JSON gateway. */
async function gateway<T>(server: ServerHandle, path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`http://${server.host}:${server.port}${path}`, {
    method: 'POST',
    headers: token === undefined ? {} : { Authorization: token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const answer = (await response.json()) as T & { error?: string; message?: string };
  if (!response.ok) throw new Error(`etcd ${path}: ${answer.message ?? answer.error ?? response.status}`);
  return answer;
}

/** Keys (decoded) under a raw prefix, read with etcd's own API. */
async function rawKeys(server: ServerHandle, prefix: string): Promise<string[]> {
  const end = Buffer.from(prefix, 'utf8');
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  const answer = await gateway<{ kvs?: { key: string }[] }>(server, '/v3/kv/range', {
    key: b64(prefix),
    range_end: end.toString('base64'),
    keys_only: true,
  });
  return (answer.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString('utf8'));
}

async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

const describeEtcd = serverAvailable('etcd') ? describe : describe.skip;
if (!serverAvailable('etcd')) {
  describe.skip(`etcd driver: ${missingServer('etcd')}`, () => {
    it.todo('install etcd to run these tests');
  });
}

describeEtcd('etcd driver on a real etcd', () => {
  let etcd: ServerHandle;
  const open: Coordinator[] = [];
  const coordinator = async (url: string, options: { sessionTimeout?: number; operationTimeout?: number } = {}): Promise<Coordinator> => {
    const coord = await connect(url, options);
    open.push(coord);
    return coord;
  };

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await Promise.all(open.map((coord) => coord.close()));
    await etcd?.stop();
  });

  it('keeps every node of a session on ONE lease, and revokes it on close', async () => {
    const coord = await coordinator(`${etcd.url}/one-lease`);
    const locks = await Promise.all([1, 2, 3, 4, 5].map((i) => coord.lock(`/locks/${i}`).acquire({ timeout: 5_000 })));
    const stats = await serverStats(etcd);
    expect(stats.sessions).toBe(1);
    // Five lock nodes and the session key, all on the session's lease.
    expect(stats.ephemeralNodes).toBe(6);
    expect(coord.session.id).toMatch(/^\d+$/);
    await Promise.all(locks.map((lock) => lock.release()));
    await coord.close();
    expect(await serverStats(etcd)).toMatchObject({ sessions: 0, ephemeralNodes: 0 });
  });

  it('puts nodes under the URL prefix and takes the lease TTL from ?ttl=', async () => {
    const a = await coordinator(`${etcd.url}/tenant-a?ttl=7`);
    const b = await coordinator(`${etcd.url}/tenant-b`);
    expect(a.session.ttlMs).toBe(7_000);
    await a.driver.create('/shared', bytes('a'));
    expect((await b.driver.get('/shared')).node).toBeUndefined();
    expect((await a.driver.get('/shared')).node?.data).toEqual(bytes('a'));
    expect(await rawKeys(etcd, '/tenant-a')).toContain('/tenant-a\u0000shared');
    expect(await rawKeys(etcd, '/tenant-b')).not.toContain('/tenant-b\u0000shared');
    expect(await a.driver.delete('/shared')).toBe(true);
  });

  it('lists direct children as one range: grandchildren do not show, and a deep tree blocks NOT_EMPTY', async () => {
    const coord = await coordinator(`${etcd.url}/tree`);
    await coord.driver.create('/dir', bytes(''));
    await coord.driver.create('/dir/a', bytes(''));
    await coord.driver.create('/dir/a/deep', bytes(''));
    await coord.driver.create('/dir-sibling', bytes(''));
    expect((await coord.driver.children('/dir')).nodes.map((n) => n.name)).toEqual(['a']);
    expect((await coord.driver.children('/')).nodes.map((n) => n.name)).toEqual(['dir', 'dir-sibling']);
    // '/dir/a' is a node with a child, '/dir' only a grandchild below 'a': both refuse.
    expect((await rejectedCoordError(coord.driver.delete('/dir/a'))).code).toBe('NOT_EMPTY');
    await coord.driver.delete('/dir/a/deep');
    await coord.driver.delete('/dir/a');
    expect(await coord.driver.delete('/dir')).toBe(true);
    await coord.driver.delete('/dir-sibling');
  });

  it('never reads a node of a revoked lease as existing, and its session ends', async () => {
    const [owner, reader] = [await coordinator(etcd.url), await coordinator(etcd.url)];
    const session = owner.session;
    const node = await owner.driver.create('/revoked/own', bytes('x'), { ephemeral: true });
    const { node: lock } = await owner.driver.createSequential('/revoked', 'n-', bytes(''), { ephemeral: true });
    expect(await revokeEtcdLease(etcd, session.id)).toBe(true);
    // Linearizable reads right after the revocation: etcd deletes the lease's keys with it.
    expect((await reader.driver.get(node.path)).node).toBeUndefined();
    expect((await reader.driver.children('/revoked')).nodes).toEqual([]);
    expect((await owner.driver.get(lock.path)).node).toBeUndefined();
    await eventually(() => session.signal.aborted, 'the owner saw its session end');
    expect((session.signal.reason as CoordError).code).toBe('SESSION_EXPIRED');
    await eventually(() => owner.session !== session && owner.session.state === 'connected', 'a fresh session');
  });

  it('removes an aborted watch from etcd at once', async () => {
    const coord = await coordinator(etcd.url);
    const before = (await serverStats(etcd)).watches;
    const controller = new AbortController();
    const watches = await Promise.all(
      [1, 2, 3].map((i) => coord.driver.get(`/watched/${i}`, { watch: true, signal: controller.signal })),
    );
    await eventually(async () => (await serverStats(etcd)).watches === before + 3, 'three watchers on etcd');
    controller.abort();
    expect(await Promise.all(watches.map((w) => w.changed))).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await eventually(async () => (await serverStats(etcd)).watches === before, 'watchers removed');
  });

  it('registers watches again after the stream breaks, and fires one whose start etcd compacted', async () => {
    const proxy = await startFaultProxy({ target: { host: etcd.host, port: etcd.port } });
    try {
      const coord = await coordinator(`etcd://${proxy.address}/streams?sessionTimeout=10000`);
      const other = await coordinator(`${etcd.url}/streams`);
      const watchers = async (): Promise<number> => (await serverStats(etcd)).watches;
      // A change made while the stream is down is still seen: the watch resumes from its start.
      const baseline = await watchers();
      const kept = await coord.driver.get('/kept', { watch: true });
      await eventually(async () => (await watchers()) === baseline + 1, 'the watch is on etcd');
      proxy.reset();
      await other.driver.create('/kept', bytes('x'));
      expect(await kept.changed).toBe('changed');
      // A watch whose start revision is compacted away cannot resume: it fires, the caller re-reads.
      const quiet = await coord.driver.get('/quiet', { watch: true });
      await eventually(async () => (await watchers()) === baseline + 1, 'the second watch is on etcd');
      for (const name of ['/noise-1', '/noise-2']) await other.driver.create(name, bytes(''));
      const { header } = await gateway<{ header: { revision: string } }>(etcd, '/v3/kv/range', { key: b64('x') });
      await gateway(etcd, '/v3/kv/compaction', { revision: header.revision, physical: true });
      proxy.reset();
      expect(await quiet.changed).toBe('changed');
      expect((await coord.driver.get('/quiet')).node).toBeUndefined();
      for (const name of ['/kept', '/noise-1', '/noise-2']) await other.driver.delete(name);
      await coord.close();
    } finally {
      await proxy.close();
    }
  });

  it('refuses oversized data with PAYLOAD_TOO_LARGE before sending anything', async () => {
    const coord = await coordinator(etcd.url);
    const big = new Uint8Array(MAX_NODE_DATA_BYTES + 1);
    expect((await rejectedCoordError(coord.driver.create('/big', big))).code).toBe('PAYLOAD_TOO_LARGE');
    expect((await rejectedCoordError(coord.driver.createSequential('/big', 'n-', big))).code).toBe('PAYLOAD_TOO_LARGE');
    await coord.driver.create('/big', bytes('small'));
    expect((await rejectedCoordError(coord.driver.set('/big', big))).code).toBe('PAYLOAD_TOO_LARGE');
    // Exactly at the limit is accepted (etcd's own limit is higher).
    expect(await coord.driver.set('/big', new Uint8Array(MAX_NODE_DATA_BYTES))).toBe(1);
    await coord.driver.delete('/big');
  });

  it('fails UNAVAILABLE within the connect timeout when nothing listens', async () => {
    const stopped = await startEtcd();
    const url = stopped.url;
    await stopped.stop();
    const { ms, result } = await elapsed(() => rejectedCoordError(connect(`${url}?connectTimeout=1500`)));
    expect(['UNAVAILABLE', 'TIMEOUT']).toContain(result.code);
    expect(result.code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(1_500 + 1_000);
  });

  it('fails TIMEOUT within the operation timeout on a silent server, then recovers', async () => {
    const proxy = await startFaultProxy({ target: { host: etcd.host, port: etcd.port } });
    try {
      const coord = await coordinator(`etcd://${proxy.address}?operationTimeout=1500&sessionTimeout=10000`);
      await coord.driver.create('/silent', bytes(''));
      proxy.blackhole();
      const { ms, result } = await elapsed(() => rejectedCoordError(coord.driver.get('/silent')));
      expect(['TIMEOUT', 'UNAVAILABLE']).toContain(result.code);
      expect(ms).toBeLessThan(1_500 + 1_000);
      const write = await elapsed(() => rejectedCoordError(coord.driver.set('/silent', bytes('x'))));
      // A write that may have reached etcd is not repeated without a token: its outcome is unknown.
      expect(['TIMEOUT', 'CONNECTION_LOSS', 'UNAVAILABLE']).toContain(write.result.code);
      expect(write.ms).toBeLessThan(1_500 + 1_000);
      proxy.heal();
      await eventually(async () => (await coord.driver.get('/silent').then(() => true, () => false)), 'answers again', 15_000);
      await coord.driver.delete('/silent');
      await coord.close();
    } finally {
      await proxy.close();
    }
  });

  describe('with authentication enabled', () => {
    let secured: ServerHandle;
    const password = 'S3cret-Passw0rd!';
    beforeAll(async () => {
      secured = await startEtcd();
      await gateway(secured, '/v3/auth/user/add', { name: 'root', password });
      await gateway(secured, '/v3/auth/role/add', { name: 'root' });
      await gateway(secured, '/v3/auth/user/grant', { user: 'root', role: 'root' });
      await gateway(secured, '/v3/auth/enable', {});
    });
    afterAll(async () => {
      await secured?.stop();
    });

    it('connects with user:password from the URL', async () => {
      const url = `etcd://root:${encodeURIComponent(password)}@${secured.host}:${secured.port}/app`;
      const coord = await connect(url);
      try {
        const lock = await coord.lock('/secured').acquire({ timeout: 5_000 });
        expect(lock.token > 0n).toBe(true);
        await lock.release();
        for (const shown of [inspect(coord, { depth: 5 }), JSON.stringify(coord), JSON.stringify(coord.driver)]) {
          expect(shown).not.toContain(password);
        }
      } finally {
        await coord.close();
      }
    });

    it('fails AUTH_FAILED on a wrong password, without the password in any message', async () => {
      const wrong = 'Wr0ng-Passw0rd?';
      const error = await rejectedCoordError(connect(`etcd://root:${encodeURIComponent(wrong)}@${secured.host}:${secured.port}?connectTimeout=5000`));
      expect(error.code).toBe('AUTH_FAILED');
      expect(isCoordError(error)).toBe(true);
      const shown = [error.message, String(error.stack), inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n');
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(encodeURIComponent(wrong));
    });

    it('fails AUTH_FAILED without credentials', async () => {
      const error = await rejectedCoordError(connect(`etcd://${secured.host}:${secured.port}?connectTimeout=5000`));
      expect(error.code).toBe('AUTH_FAILED');
    });
  });
});
