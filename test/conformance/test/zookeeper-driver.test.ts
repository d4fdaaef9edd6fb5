// The ZooKeeper driver's own real-server tests: what the conformance suite cannot check —
// digest auth, unreachable and silent servers, the payload limit on a real server, URL
// options and the namespace. Starts one ZooKeeper server (see leg.ts for the CI rules).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { connect, type Coordinator } from 'coord';
import { MAX_NODE_DATA_BYTES, parseUrl } from '@coord/core';
import { createDriver } from '@coord/zookeeper';
import { proxyTarget, rejectedCoordError, serverAvailable, startZooKeeper, type ServerHandle } from '@coord/testing';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const SECRET = 'pa55-w0rd-never-printed';

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  return port;
}

/** The digest ACL id ZooKeeper computes for user:password. */
function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

interface RawClient {
  init(config: { connect: string; timeout: number; debug_level: number }): void;
  once(event: 'connect', listener: () => void): void;
  close(): void;
  a_create(path: string, data: string, flags: number, done: (rc: number) => void): number;
  a_set_acl(path: string, version: number, acl: { perms: number; scheme: string; auth: string }[], done: (rc: number) => void): number;
}

/** Creates `path` readable and writable only by `user` (through the addon directly: Coord sets no ACLs). */
async function protect(server: ServerHandle, path: string, user: string, password: string): Promise<void> {
  const require = createRequire(import.meta.resolve('@coord/zookeeper'));
  const Native = require('zookeeper') as new () => RawClient;
  const zk = new Native();
  await new Promise<void>((resolve) => {
    zk.once('connect', resolve);
    zk.init({ connect: server.url.replace('zookeeper://', ''), timeout: 5_000, debug_level: 0 });
  });
  try {
    const step = (send: (done: (rc: number) => void) => number): Promise<number> => new Promise((resolve) => void send(resolve));
    expect(await step((done) => zk.a_create(path, '', 0, done))).toBe(0);
    expect(await step((done) => zk.a_set_acl(path, -1, [{ perms: 31, scheme: 'digest', auth: digestId(user, password) }], done))).toBe(0);
  } finally {
    zk.close();
  }
}

const available = serverAvailable('zookeeper');

(available ? describe : describe.skip)('zookeeper driver on a real server', () => {
  let server: ServerHandle;
  const open: Coordinator[] = [];
  const url = (suffix = ''): string => `${server.url}${suffix}`;
  const withCredentials = (user: string, password: string, suffix: string): string =>
    url(suffix).replace('zookeeper://', `zookeeper://${user}:${encodeURIComponent(password)}@`);

  beforeAll(async () => {
    server = await startZooKeeper();
  });
  afterAll(async () => {
    await Promise.all(open.map((coord) => coord.close()));
    await server?.stop();
  });

  it('grants the session timeout the URL asks for, and works under the URL namespace', async () => {
    const coord = await connect(url('/ns-test?sessionTimeout=3000&operationTimeout=2000'));
    open.push(coord);
    expect(coord.session.ttlMs).toBe(3_000);
    expect(coord.session.id).toMatch(/^[0-9a-f]+$/);
    const made = await coord.driver.create('/inside', bytes('x'));
    expect(made.path).toBe('/inside');
    const root = await connect(url());
    open.push(root);
    expect((await root.driver.get('/ns-test/inside')).node?.data).toEqual(bytes('x'));
    expect((await coord.driver.children('/')).nodes.map((n) => n.name)).toEqual(['inside']);
  });

  it('digest auth: the right password works; a wrong one or none fails AUTH_FAILED without the password', async () => {
    await protect(server, '/secure', 'alice', SECRET);
    const alice = await connect(withCredentials('alice', SECRET, '/secure'));
    open.push(alice);
    await alice.driver.create('/file', bytes('ok'), { ephemeral: true });
    expect(inspect(alice)).not.toContain(SECRET);
    expect(JSON.stringify(alice)).not.toContain(SECRET);
    expect(inspect(alice.driver, { depth: 5 })).not.toContain(SECRET);
    for (const bad of [withCredentials('alice', 'wrong-password', '/secure'), url('/secure')]) {
      const error = await rejectedCoordError(connect(bad));
      expect(error.code).toBe('AUTH_FAILED');
      expect(error.message).not.toContain('wrong-password');
      expect(error.message).not.toContain(SECRET);
      expect(JSON.stringify(error)).not.toContain('wrong-password');
    }
  });

  it('an unreachable ensemble fails UNAVAILABLE within connectTimeout', async () => {
    const port = await closedPort();
    const started = performance.now();
    const error = await rejectedCoordError(connect(`zookeeper://127.0.0.1:${port}?connectTimeout=1500`));
    const elapsed = performance.now() - started;
    expect(error.code).toBe('UNAVAILABLE');
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('a silent server: connect fails UNAVAILABLE, and a request on a live session TIMEOUT, within their deadlines', async () => {
    const net = await proxyTarget(server);
    try {
      net.blackhole();
      const error = await rejectedCoordError(createDriver(parseUrl(`${net.url}?connectTimeout=1500`)));
      expect(error.code).toBe('UNAVAILABLE');
      net.heal();
      const driver = await createDriver(parseUrl(`${net.url}?sessionTimeout=20000&operationTimeout=1000`));
      try {
        net.blackhole();
        const started = performance.now();
        const timedOut = await rejectedCoordError(driver.get('/anything'));
        expect(['TIMEOUT', 'UNAVAILABLE']).toContain(timedOut.code);
        expect(performance.now() - started).toBeLessThan(10_000);
        net.heal();
      } finally {
        await driver.close();
      }
    } finally {
      await net.close();
    }
  });

  it('data over the limit fails PAYLOAD_TOO_LARGE before sending; data at the limit is stored', async () => {
    const coord = await connect(url());
    open.push(coord);
    const error = await rejectedCoordError(coord.driver.create('/big', new Uint8Array(MAX_NODE_DATA_BYTES + 1)));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(coord.session.state).toBe('connected');
    const full = new Uint8Array(MAX_NODE_DATA_BYTES).fill(7);
    await coord.driver.create('/big', full);
    expect((await coord.driver.get('/big')).node?.data.byteLength).toBe(MAX_NODE_DATA_BYTES);
    await coord.driver.delete('/big');
  });

  it('rejects a sequential prefix ending in a digit (the sequence would be unreadable)', async () => {
    const coord = await connect(url());
    open.push(coord);
    expect((await rejectedCoordError(coord.driver.createSequential('/q', 'n1', bytes('')))).code).toBe('INVALID_ARGUMENT');
  });
});
