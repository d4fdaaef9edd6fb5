// The pieces that need no server: URL targets, session ids, logs, ports, missing programs.
import { afterEach, describe, expect, it } from '@jest/globals';
import { isCoordError } from '@coord/core';
import { parseZooKeeperSessionId, serverAvailable, startEtcd, missingServer } from '../src/index.js';
import { LogBuffer } from '../src/servers/log-buffer.js';
import { freePorts, portIsFree } from '../src/servers/ports.js';
import { endpointsOf } from '../src/servers/targets.js';
import { formatSessionId } from '../src/servers/zookeeper-wire.js';

describe('targets', () => {
  it('lists the host:port of every member, ignoring credentials, path and query', () => {
    expect(endpointsOf('zookeeper://u:p@127.0.0.1:2181,[::1]:2182/chroot?sessionTimeout=1')).toEqual([
      { host: '127.0.0.1', port: 2181 },
      { host: '::1', port: 2182 },
    ]);
    expect(endpointsOf({ url: 'redis://localhost/2' })).toEqual([{ host: 'localhost', port: 6379 }]);
    expect(endpointsOf('etcds://h')).toEqual([{ host: 'h', port: 2379 }]);
  });

  it('never repeats a password in an error', () => {
    expect(() => endpointsOf('redis://user:secret@')).toThrow(/no host/);
    expect(() => endpointsOf('redis://user:secret@')).not.toThrow(/secret/);
  });
});

describe('ZooKeeper session ids', () => {
  it('are hexadecimal, with or without 0x, and round-trip', () => {
    expect(parseZooKeeperSessionId('0x100012af5c70000')).toBe(0x100012af5c70000n);
    expect(parseZooKeeperSessionId('100012AF5C70000')).toBe(0x100012af5c70000n);
    expect(parseZooKeeperSessionId(formatSessionId(-1n))).toBe(0xffffffffffffffffn);
  });

  it('reject anything else', () => {
    for (const bad of ['', '0x', 'xyz', '12345678901234567', '1 2']) {
      expect(() => parseZooKeeperSessionId(bad)).toThrow(/not a hexadecimal ZooKeeper session id/);
    }
  });
});

describe('LogBuffer', () => {
  it('keeps the newest bytes and says how much it dropped', () => {
    const log = new LogBuffer(1024);
    for (let i = 0; i < 100; i += 1) log.append(`line ${i} ${'x'.repeat(40)}\n`);
    expect(log.text().length).toBeLessThan(1200);
    expect(log.text()).toMatch(/^\[\.\.\. \d+ earlier bytes dropped \.\.\.\]/);
    expect(log.tail(2)).toBe(`line 98 ${'x'.repeat(40)}\nline 99 ${'x'.repeat(40)}`);
  });
});

describe('ports', () => {
  it('are distinct, free, and below the ephemeral range', async () => {
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeLessThan(32_768);
      expect(await portIsFree(port)).toBe(true);
    }
  });
});

describe('a missing server program', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env['COORD_TESTING_ETCD'] = saved['COORD_TESTING_ETCD'];
    process.env['CI'] = saved['CI'];
    if (saved['COORD_TESTING_ETCD'] === undefined) delete process.env['COORD_TESTING_ETCD'];
    if (saved['CI'] === undefined) delete process.env['CI'];
  });

  it('names the Debian package to install', async () => {
    process.env['COORD_TESTING_ETCD'] = '/nonexistent/etcd';
    const error = await startEtcd().catch((e: unknown) => e);
    expect(isCoordError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/Install the Debian package etcd-server/);
    expect(missingServer('etcd')).toMatch(/etcd-server/);
  });

  it('is a skip outside CI and a failure under CI=true', () => {
    process.env['COORD_TESTING_ETCD'] = '/nonexistent/etcd';
    delete process.env['CI'];
    expect(serverAvailable('etcd')).toBe(false);
    process.env['CI'] = 'true';
    expect(() => serverAvailable('etcd')).toThrow(/CI=true: a missing backend fails the run/);
  });
});
