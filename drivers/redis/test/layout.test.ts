import { describe, expect, it } from '@jest/globals';
import { DEFAULT_SETTINGS, parseUrl } from '@coord/core';
import { thrownCoordError } from '@coord/testing';
import { Layout, parseChange } from '../src/layout.js';
import { mayEvict, parseMajorVersion, parseMemoryInfo } from '../src/server-check.js';
import { decodeChildren, decodeCreate, decodeDelete, decodeGet, decodeSet } from '../src/replies.js';
import { clientOptions } from '../src/connection.js';
import { SCRIPTS } from '../src/scripts.js';
import { recheckInterval } from '../src/driver.js';

describe('key layout', () => {
  it('puts every key and channel of a namespace behind one hash tag', () => {
    const layout = new Layout('app');
    expect(layout.counter).toBe('{app}:rev');
    expect(layout.session('abc')).toBe('{app}:s:abc');
    expect(layout.channel('/a/b')).toBe('{app}:w:/a/b');
    expect(layout.pathOf('{app}:w:/a/b')).toBe('/a/b');
    expect(layout.pathOf('{other}:w:/a')).toBeUndefined();
    expect(new Layout().base).toBe('{coord}:');
    expect(thrownCoordError(() => new Layout('a}b')).code).toBe('INVALID_ARGUMENT');
  });

  it('decodes change messages and refuses anything else', () => {
    expect(parseChange('42 n')).toEqual({ rev: 42, kind: 'n' });
    expect(parseChange('7 c')).toEqual({ rev: 7, kind: 'c' });
    for (const bad of ['', 'x n', '1 x', '1 n extra', ' 1 n']) expect(parseChange(bad)).toBeUndefined();
  });

  it('ships each script with the SHA1 of its source', () => {
    const shas = new Set(Object.values(SCRIPTS).map((script) => script.sha));
    expect(shas.size).toBe(Object.keys(SCRIPTS).length);
    for (const script of Object.values(SCRIPTS)) expect(script.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('re-checks watches on a third of the TTL', () => {
    expect(recheckInterval(9_000)).toBe(3_000);
    expect(recheckInterval(30)).toBe(100);
  });
});

describe('reply decoding', () => {
  const b = (text: string): Buffer => Buffer.from(text);

  it('decodes a create reply and its listing (no owner in listings, no token for plain nodes)', () => {
    const reply = [b('/q/n-0000000007'), 7, 7, b('s1'), 7, 0, b('n-0000000007'), b('7'), b('7'), b('s1'), b('plain'), b('0'), b('3'), b('')];
    const decoded = decodeCreate(reply, '/q');
    expect(decoded.node).toEqual({ path: '/q/n-0000000007', name: 'n-0000000007', seq: 7n, token: 7n, owner: 's1' });
    expect(decoded.revision).toBe(7);
    expect(decoded.adopted).toBe(false);
    expect(decoded.siblings).toEqual([
      { path: '/q/n-0000000007', name: 'n-0000000007', seq: 7n, token: 7n },
      { path: '/q/plain', name: 'plain', seq: 0n, token: 0n },
    ]);
    expect(decodeCreate([b('/a'), 0, 3, b(''), 3, 1]).adopted).toBe(true);
    expect(decodeCreate([b('/a'), 0, 3, b(''), 3, 1]).siblings).toEqual([]);
  });

  it('decodes a children reply: revision, nodes, and the fingerprint re-reads compare', () => {
    const reply = [9, b('n-0000000007'), b('7'), b('7'), b('s1'), b('plain'), b('0'), b('3'), b('')];
    expect(decodeChildren(reply, '/q')).toEqual({
      revision: 9,
      nodes: [
        { path: '/q/n-0000000007', name: 'n-0000000007', seq: 7n, token: 7n },
        { path: '/q/plain', name: 'plain', seq: 0n, token: 0n },
      ],
      fingerprint: 'n-0000000007@7/plain@3',
    });
    expect(decodeChildren([4, b('a'), b('0'), b('1'), b('')], '/').nodes).toEqual([{ path: '/a', name: 'a', seq: 0n, token: 0n }]);
  });

  it('decodes a get reply as a plain Uint8Array copy', () => {
    const { node, revision, fingerprint } = decodeGet([5, b('hi'), b('2'), b(''), b('4')], '/a');
    expect(node).toEqual({ path: '/a', data: new Uint8Array([104, 105]), version: 2 });
    expect(Buffer.isBuffer(node?.data)).toBe(false);
    expect([revision, fingerprint]).toEqual([5, '4:2']);
    expect(decodeGet([5, b(''), b('0'), b('s9'), b('4')], '/a').node?.owner).toBe('s9');
    expect(decodeGet([5], '/a')).toEqual({ revision: 5, node: undefined, fingerprint: '-' });
  });

  it('decodes set and delete replies', () => {
    expect(decodeSet(3)).toBe(3);
    expect(decodeDelete(1)).toBe(true);
    expect(decodeDelete(0)).toBe(false);
  });
});

describe('eviction policy', () => {
  it('is safe only without a memory limit or with noeviction', () => {
    const info = (maxmemory: number, policy: string): string => `# Memory\r\nused_memory:1\r\nmaxmemory:${maxmemory}\r\nmaxmemory_policy:${policy}\r\n`;
    expect(parseMemoryInfo(info(0, 'allkeys-lru'))).toEqual({ maxmemory: 0, policy: 'allkeys-lru' });
    expect(mayEvict({ maxmemory: 0, policy: 'allkeys-lru' })).toBe(false);
    expect(mayEvict({ maxmemory: 100, policy: 'noeviction' })).toBe(false);
    // Session keys carry a TTL, so volatile-* policies may evict them: unsafe too.
    for (const policy of ['volatile-lru', 'volatile-ttl', 'allkeys-lru', 'allkeys-random']) expect(mayEvict({ maxmemory: 100, policy })).toBe(true);
    expect(parseMemoryInfo('nothing here')).toBeUndefined();
  });

  it('reads the server\'s major version', () => {
    expect(parseMajorVersion('# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n')).toBe(7);
    expect(parseMajorVersion('redis_version:5.0.3\r\n')).toBe(5);
    expect(parseMajorVersion('')).toBeUndefined();
  });
});

describe('client options', () => {
  it('bound ioredis: no offline queue, no resend, no per-request retries; db, TLS and credentials from the URL', () => {
    const config = parseUrl('rediss://user:s3cret@cache.example:6380/3?prefix=app&connectTimeout=2000');
    const options = clientOptions(config, 'coord:test');
    expect(options).toMatchObject({
      host: 'cache.example',
      port: 6380,
      username: 'user',
      password: 's3cret',
      db: 3,
      tls: { servername: 'cache.example' },
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    expect(options.connectTimeout).toBeLessThanOrEqual(2_000);
    const plain = clientOptions(parseUrl('redis://127.0.0.1'), 'coord:test');
    expect(plain).toMatchObject({ port: 6379, db: 0 });
    expect(plain.tls).toBeUndefined();
    expect(plain.password).toBeUndefined();
    expect(DEFAULT_SETTINGS.operationTimeout).toBeGreaterThan(0);
  });
});
