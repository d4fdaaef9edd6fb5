// Real etcd: a single server's life cycle, lease revocation checked with the etcd3 client,
// and a 3-member cluster that survives one member down and refuses writes with two down.
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import { existsSync } from 'node:fs';
import { eventually, revokeEtcdLease, serverStats, startEtcd, startEtcdCluster, type ClusterHandle, type ServerHandle } from '../src/index.js';
import { portIsFree } from '../src/servers/ports.js';
import { describeWith, running } from './helpers.js';

const describeEtcd = describeWith('etcd');
const clients: Etcd3[] = [];

/** An etcd3 client on some members, whose calls give up after `deadline` ms. */
function client(members: readonly ServerHandle[], deadline = 10_000): Etcd3 {
  const etcd = new Etcd3({
    hosts: members.map((m) => `http://127.0.0.1:${m.port}`),
    dialTimeout: 2_000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadline }),
  });
  clients.push(etcd);
  return etcd;
}

afterEach(() => {
  for (const etcd of clients.splice(0)) etcd.close();
});

describeEtcd('etcd server', () => {
  let etcd: ServerHandle;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('serves on loopback with a Coord URL, its own directory and a log', async () => {
    expect(etcd.kind).toBe('etcd');
    expect(etcd.url).toBe(`etcd://127.0.0.1:${etcd.port}`);
    expect(existsSync(`${etcd.dataDir}/data/member`)).toBe(true);
    expect(etcd.log()).toMatch(/serving client traffic/);
    await client([etcd]).put('k').value('v1');
    expect(await client([etcd]).get('k').string()).toBe('v1');
  });

  it('kill is a crash; restart comes back on the same port with the same data', async () => {
    const before = etcd.pid as number;
    await etcd.kill();
    expect(etcd.state).toBe('down');
    expect(running(before)).toBe(false);
    await expect(client([etcd], 1_000).get('k').string()).rejects.toThrow();
    await etcd.restart();
    expect(etcd.state).toBe('running');
    expect(await client([etcd]).get('k').string()).toBe('v1');
  });

  it('pause hangs it (calls time out) until resume', async () => {
    await etcd.pause();
    await expect(client([etcd], 500).get('k').string()).rejects.toThrow();
    await etcd.resume();
    expect(await client([etcd]).get('k').string()).toBe('v1');
  });

  it('revokeEtcdLease ends a lease: etcd3 sees it and its keys gone', async () => {
    const etcd3 = client([etcd]);
    const lease = etcd3.lease(60, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('session-key').value('mine');
    expect(await etcd3.get('session-key').string()).toBe('mine');
    const watcher = await etcd3.watch().key('session-key').create();
    expect(await serverStats(etcd)).toEqual({ sessions: 1, watches: 1, ephemeralNodes: 1 });

    expect(await revokeEtcdLease(etcd, id)).toBe(true);

    expect(await etcd3.get('session-key').string()).toBeNull();
    await expect(lease.keepaliveOnce()).rejects.toThrow(/lease/i);
    expect(await revokeEtcdLease(etcd.url, id)).toBe(false);
    await watcher.cancel();
    await eventually(async () => (await serverStats(etcd)).watches === 0, 'watcher cancelled', 5_000);
    expect(await serverStats(etcd)).toEqual({ sessions: 0, watches: 0, ephemeralNodes: 0 });
  });

  it('stop is graceful, final, and leaves no process, directory or port behind', async () => {
    const pid = etcd.pid as number;
    await etcd.stop();
    expect(running(pid)).toBe(false);
    expect(existsSync(etcd.dataDir)).toBe(false);
    expect(await portIsFree(etcd.port)).toBe(true);
  });

  it('await using stops a server', async () => {
    let dir = '';
    {
      await using scoped = await startEtcd();
      dir = scoped.dataDir;
      expect(existsSync(dir)).toBe(true);
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describeEtcd('etcd cluster', () => {
  let cluster: ClusterHandle;
  beforeAll(async () => {
    cluster = await startEtcdCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('forms a quorum with one leader; a write through one member is read through another', async () => {
    expect(cluster.url).toBe(`etcd://${cluster.members.map((m) => `127.0.0.1:${m.port}`).join(',')}`);
    const leader = await cluster.leader();
    expect([0, 1, 2]).toContain(leader);
    await client([cluster.member(0)]).put('a').value('1');
    expect(await client([cluster.member(2)]).get('a').string()).toBe('1');
  });

  it('keeps serving reads and writes with the leader killed, and elects another', async () => {
    const old = await cluster.leader();
    await cluster.kill(old);
    // A write sent before the survivors notice would wait for etcd's request timeout (7 s).
    expect(await cluster.leader()).not.toBe(old);
    const alive = cluster.members.filter((m) => m.state === 'running');
    await client([alive[0] as ServerHandle]).put('b').value('2');
    expect(await client([alive[1] as ServerHandle]).get('a').string()).toBe('1');
  });

  it('refuses writes with two members down, and recovers when they return', async () => {
    const down = cluster.members.findIndex((m) => m.state === 'down');
    const [killed, last] = [0, 1, 2].filter((i) => i !== down) as [number, number];
    await cluster.kill(killed);
    // No quorum: the write cannot commit (its outcome is unknown to etcd, so not checked later).
    await expect(client([cluster.member(last)], 1_000).put('refused').value('x')).rejects.toThrow(/deadline|no leader|timed out/i);
    await Promise.all([cluster.restart(down), cluster.restart(killed)]);
    const etcd3 = client([cluster.member(down)], 20_000);
    await etcd3.put('c').value('3');
    expect(await etcd3.getAll().prefix('').strings()).toMatchObject({ a: '1', b: '2', c: '3' });
  });

  it('revokes a lease through any member', async () => {
    const lease = client([cluster.member(1)]).lease(60, { autoKeepAlive: false });
    const id = await lease.grant();
    await cluster.pause(0);
    try {
      expect(await revokeEtcdLease(cluster, id, { timeout: 1_000 })).toBe(true);
    } finally {
      await cluster.resume(0);
    }
    await expect(lease.keepaliveOnce()).rejects.toThrow(/lease/i);
  });
});
