// Real ZooKeeper: a single server's life cycle, session expiry checked with ZooKeeper's own
// client, and a 3-node ensemble that survives one member down and refuses with two down.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import {
  eventually,
  expireZooKeeperSession,
  fourLetterWord,
  serverStats,
  startZooKeeper,
  startZooKeeperEnsemble,
  type ClusterHandle,
  type ServerHandle,
} from '../src/index.js';
import { withDeadline } from '../src/servers/net.js';
import { portIsFree } from '../src/servers/ports.js';
import { formatSessionId, ZooKeeperWire } from '../src/servers/zookeeper-wire.js';
import { describeWith, failsWithin, running, zkCli } from './helpers.js';

const describeZooKeeper = describeWith('zookeeper');

/** A session on `port` through this package's wire client. */
function session(port: number, timeout = 30_000): Promise<ZooKeeperWire> {
  return withDeadline(10_000, (signal) => ZooKeeperWire.connect({ host: '127.0.0.1', port }, { sessionTimeout: timeout }, signal));
}

/** Runs one call on a fresh session and closes it. */
async function onSession<T>(port: number, fn: (wire: ZooKeeperWire, signal: AbortSignal) => Promise<T>): Promise<T> {
  const wire = await session(port);
  try {
    return await withDeadline(10_000, (signal) => fn(wire, signal));
  } finally {
    await withDeadline(5_000, (signal) => wire.closeSession(signal)).catch(() => undefined);
  }
}

describeZooKeeper('ZooKeeper server', () => {
  let zk: ServerHandle;
  beforeAll(async () => {
    zk = await startZooKeeper();
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('serves on loopback with a Coord URL, its own directory and a log', async () => {
    expect(zk.kind).toBe('zookeeper');
    expect(zk.url).toBe(`zookeeper://127.0.0.1:${zk.port}`);
    expect(zk.state).toBe('running');
    expect(existsSync(`${zk.dataDir}/zoo.cfg`)).toBe(true);
    expect(await fourLetterWord(zk, 'srvr')).toMatch(/Mode: standalone/);
    expect(await fourLetterWord(zk, 'ruok')).toBe('imok');
    expect(zk.log()).toMatch(/binding to port/i);
    await onSession(zk.port, (wire, signal) => wire.create('/persistent', Buffer.from('x'), false, signal));
  });

  it('kill is a crash; restart comes back on the same port with the same data', async () => {
    const before = zk.pid as number;
    await zk.kill();
    expect(zk.state).toBe('down');
    expect(running(before)).toBe(false);
    await failsWithin(2_000, (signal) => ZooKeeperWire.connect({ host: '127.0.0.1', port: zk.port }, {}, signal));
    await zk.restart();
    expect(zk.state).toBe('running');
    expect(zk.pid).not.toBe(before);
    expect(await onSession(zk.port, (wire, signal) => wire.exists('/persistent', signal))).toBe(true);
  });

  it('pause hangs it (requests time out) until resume', async () => {
    await zk.pause();
    expect(zk.state).toBe('paused');
    const error = await failsWithin(500, (signal) => ZooKeeperWire.connect({ host: '127.0.0.1', port: zk.port }, {}, signal));
    expect(error.message).toMatch(/timed out/);
    await zk.resume();
    expect(await fourLetterWord(zk, 'ruok')).toBe('imok');
  });

  it('expireZooKeeperSession expires a live session: ZooKeeper itself drops it and its ephemeral node', async () => {
    const victim = await session(zk.port);
    await withDeadline(10_000, (signal) => victim.create('/victim', Buffer.alloc(0), true, signal));
    const id = formatSessionId(victim.session.id);
    const before = await zkCli(zk.port, 'stat', '/victim');
    expect(before.output).toContain(`ephemeralOwner = ${id}`);
    expect(await serverStats(zk)).toEqual({ sessions: 1, watches: 0, ephemeralNodes: 1 });

    expect(await expireZooKeeperSession(zk, id, victim.session.password.toString('hex'))).toBe(true);

    // The victim's connection is closed by the server, and the session cannot be resumed.
    await expect(withDeadline(5_000, (signal) => victim.ping(signal))).rejects.toThrow(/closed/);
    const resume = withDeadline(5_000, (signal) =>
      ZooKeeperWire.connect({ host: '127.0.0.1', port: zk.port }, { sessionId: victim.session.id, password: victim.session.password }, signal),
    );
    await expect(resume).rejects.toMatchObject({ code: 'SESSION_EXPIRED' });
    // ZooKeeper's own client sees the ephemeral node gone.
    const after = await zkCli(zk.port, 'stat', '/victim');
    expect(after.output).toContain('Node does not exist: /victim');
    // Expiring it again reports that it was already gone.
    expect(await expireZooKeeperSession(zk.url, victim.session.id, victim.session.password)).toBe(false);
    await eventually(async () => (await serverStats(zk)).sessions === 0, 'no session left', 5_000);
    expect(await serverStats(zk)).toEqual({ sessions: 0, watches: 0, ephemeralNodes: 0 });
  });

  it('stop is graceful, final, and leaves no process, directory or port behind', async () => {
    const pid = zk.pid as number;
    await zk.stop();
    await zk.stop(); // idempotent
    expect(zk.state).toBe('stopped');
    expect(running(pid)).toBe(false);
    expect(existsSync(zk.dataDir)).toBe(false);
    expect(await portIsFree(zk.port)).toBe(true);
    await expect(zk.restart()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a start that cannot finish in time is killed and reported with its log', async () => {
    const error = await startZooKeeper({ startTimeout: 1 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe('TIMEOUT');
    expect(error?.message).toMatch(/did not answer within 1 ms[\s\S]*Last lines of its log/);
    const dir = /data dir (\S+)\./.exec(error?.message ?? '')?.[1] as string;
    expect(dir).toMatch(/coord-zookeeper-/);
    expect(existsSync(dir)).toBe(false);
  });
});

/** Creates `path` through member `index`, retrying while the ensemble elects a leader. */
async function createVia(cluster: ClusterHandle, index: number, path: string): Promise<void> {
  await eventually(
    () =>
      onSession(cluster.member(index).port, (wire, signal) => wire.create(path, Buffer.from(path), false, signal)).then(
        () => true,
        () => false,
      ),
    `create ${path} via member ${index}`,
    30_000,
    200,
  );
}

describeZooKeeper('ZooKeeper ensemble', () => {
  let ensemble: ClusterHandle;
  beforeAll(async () => {
    ensemble = await startZooKeeperEnsemble(3);
  });
  afterAll(async () => {
    await ensemble?.stop();
  });

  it('forms a quorum with one leader and serves every member', async () => {
    expect(ensemble.members).toHaveLength(3);
    expect(ensemble.url).toBe(`zookeeper://${ensemble.members.map((m) => `127.0.0.1:${m.port}`).join(',')}`);
    const leader = await ensemble.leader();
    const modes = await Promise.all(ensemble.members.map((m) => fourLetterWord(m, 'srvr')));
    expect(modes.filter((srvr) => /Mode: leader/.test(srvr))).toHaveLength(1);
    expect(modes[leader]).toMatch(/Mode: leader/);
    await createVia(ensemble, 0, '/a');
    expect(await onSession(ensemble.member(2).port, (wire, signal) => wire.exists('/a', signal))).toBe(true);
  });

  it('keeps serving reads and writes with the leader killed, and elects another', async () => {
    const old = await ensemble.leader();
    await ensemble.kill(old);
    const alive = [0, 1, 2].filter((i) => i !== old);
    await createVia(ensemble, alive[0] as number, '/b');
    expect(await onSession(ensemble.member(alive[1] as number).port, (wire, signal) => wire.exists('/a', signal))).toBe(true);
    const now = await ensemble.leader();
    expect(alive).toContain(now);
  });

  it('refuses writes with two members down, and recovers when they return', async () => {
    const down = ensemble.members.findIndex((m) => m.state === 'down');
    const [killed, last] = [0, 1, 2].filter((i) => i !== down) as [number, number];
    await ensemble.kill(killed);
    // Without a quorum the last member stops serving: no session, so no write.
    const serving = (): Promise<boolean> =>
      fourLetterWord(ensemble.member(last), 'srvr').then((srvr) => /Mode: (leader|follower)/.test(srvr), () => false);
    await eventually(async () => !(await serving()), 'quorum lost', 30_000, 100);
    await failsWithin(3_000, async (signal) => {
      const wire = await ZooKeeperWire.connect({ host: '127.0.0.1', port: ensemble.member(last).port }, {}, signal);
      try {
        await wire.create('/refused', Buffer.alloc(0), false, signal);
      } finally {
        wire.destroy();
      }
    });
    await Promise.all([ensemble.restart(down), ensemble.restart(killed)]);
    await createVia(ensemble, down, '/c');
    for (const path of ['/a', '/b', '/c']) {
      expect(await onSession(ensemble.member(last).port, (wire, signal) => wire.exists(path, signal))).toBe(true);
    }
    expect(await onSession(ensemble.member(last).port, (wire, signal) => wire.exists('/refused', signal))).toBe(false);
  });

  it('expires a session through any member', async () => {
    const victim = await session(ensemble.member(0).port);
    await withDeadline(10_000, (signal) => victim.create('/ensemble-victim', Buffer.alloc(0), true, signal));
    expect(await expireZooKeeperSession(ensemble, victim.session.id, victim.session.password)).toBe(true);
    await eventually(
      () => onSession(ensemble.member(2).port, (wire, signal) => wire.exists('/ensemble-victim', signal)).then((e) => !e),
      'ephemeral node gone',
      10_000,
    );
    victim.destroy();
  });
});
