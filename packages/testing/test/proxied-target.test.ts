// A server behind fault proxies: the URL rewrite, and a ZooKeeper session cut off by a
// partition longer than its timeout — the server expires it while a direct client watches.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, fourLetterWord, proxyTarget, startZooKeeper, withHosts, type ServerHandle } from '../src/index.js';
import { withDeadline } from '../src/servers/net.js';
import { ZooKeeperWire } from '../src/servers/zookeeper-wire.js';
import { describeWith } from './helpers.js';

describe('withHosts', () => {
  const one = ['127.0.0.1:9000'];
  it.each([
    ['zookeeper://127.0.0.1:2181', one, 'zookeeper://127.0.0.1:9000'],
    ['zookeeper://a:1,b:2,c:3/chroot?sessionTimeout=2000', ['p:1', 'p:2', 'p:3'], 'zookeeper://p:1,p:2,p:3/chroot?sessionTimeout=2000'],
    ['redis://:secret@h:6379/2?prefix=app', one, 'redis://:secret@127.0.0.1:9000/2?prefix=app'],
    ['etcds://user:p@ss@[::1]:2379#x', one, 'etcds://user:p@ss@127.0.0.1:9000#x'],
  ])('%s', (url, hosts, expected) => {
    expect(withHosts(url, hosts)).toBe(expected);
  });
});

describeWith('zookeeper')('proxyTarget on a real ZooKeeper', () => {
  let zk: ServerHandle;
  beforeAll(async () => {
    zk = await startZooKeeper();
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('forwards, goes silent on partition, and serves again after heal', async () => {
    await using net = await proxyTarget(zk);
    expect(net.url).toBe(`zookeeper://${net.proxies[0]!.address}`);
    expect(await fourLetterWord(net.url, 'ruok')).toBe('imok');
    net.partition();
    await expect(fourLetterWord(net.url, 'ruok', { timeout: 300 })).rejects.toThrow();
    net.heal();
    expect(await fourLetterWord(net.url, 'ruok')).toBe('imok');
  });

  it('a partition longer than the session timeout makes the server expire the session', async () => {
    await using net = await proxyTarget(zk);
    const proxied = net.proxies[0]!;
    const victim = await withDeadline(10_000, (signal) =>
      ZooKeeperWire.connect({ host: proxied.host, port: proxied.port }, { sessionTimeout: 1_000 }, signal),
    );
    const direct = await withDeadline(10_000, (signal) => ZooKeeperWire.connect({ host: zk.host, port: zk.port }, { sessionTimeout: 30_000 }, signal));
    try {
      await withDeadline(5_000, (signal) => victim.create('/partitioned', new Uint8Array(), true, signal));
      expect(await withDeadline(5_000, (signal) => direct.exists('/partitioned', signal))).toBe(true);
      net.partition();
      // The server hears nothing from the victim: after its timeout the ephemeral node goes.
      await eventually(async () => !(await withDeadline(5_000, (signal) => direct.exists('/partitioned', signal))), 'victim session expired', 15_000, 100);
    } finally {
      await withDeadline(5_000, (signal) => direct.closeSession(signal)).catch(() => undefined);
      victim.destroy();
    }
  });
});
