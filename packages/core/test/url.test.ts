import { describe, it, expect } from '@jest/globals';
import { inspect, format } from 'node:util';
import { parseUrl, redactUrl, DEFAULT_SETTINGS } from '../src/url.js';
import { CoordError, isCoordError } from '../src/errors.js';
import type { ConnectionConfig } from '../src/config.js';
import { thrown } from './helpers.js';

/** Runs `fn`, returns what it threw (fails the test if nothing was thrown). */

describe('parseUrl: happy paths', () => {
  it('parses a multi-host ZooKeeper URL with user info, chroot and options', () => {
    const c = parseUrl('zookeeper://alice:pw@h1:2181,h2:2182,10.0.0.3/app/jobs?sessionTimeout=15000&operationTimeout=250');
    expect(c.scheme).toBe('zookeeper');
    expect(c.backend).toBe('zookeeper');
    expect(c.tls).toBe(false);
    expect(c.hosts).toEqual([
      { host: 'h1', port: 2181 },
      { host: 'h2', port: 2182 },
      { host: '10.0.0.3', port: 2181 },
    ]);
    expect(c.username).toBe('alice');
    expect(c.password?.reveal()).toBe('pw');
    expect(c.namespace).toBe('/app/jobs');
    expect(c.settings).toEqual({ sessionTimeout: 15_000, connectTimeout: 10_000, operationTimeout: 250 });
    expect(c.options).toEqual({});
    expect(c.redacted).toBe(
      'zookeeper://alice:***@h1:2181,h2:2182,10.0.0.3:2181/app/jobs?sessionTimeout=15000&operationTimeout=250',
    );
  });

  it('fills in default ports and settings, and an empty namespace', () => {
    const c = parseUrl('zookeeper://zk1,zk2');
    expect(c.hosts).toEqual([
      { host: 'zk1', port: 2181 },
      { host: 'zk2', port: 2181 },
    ]);
    expect(c.namespace).toBe('');
    expect(c.settings).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toEqual({ sessionTimeout: 10_000, connectTimeout: 10_000, operationTimeout: 5_000 });
    expect(c.username).toBeUndefined();
    expect(c.password).toBeUndefined();
    expect('password' in c).toBe(false);
    expect(c.redacted).toBe('zookeeper://zk1:2181,zk2:2181');
  });

  it("treats a chroot of '/' as no namespace", () => {
    expect(parseUrl('zookeeper://h/').namespace).toBe('');
  });

  it('parses bracketed IPv6 hosts, with and without a port', () => {
    const c = parseUrl('zookeeper://[::1]:2182,[2001:DB8::7],[::ffff:192.0.2.1]:3000');
    expect(c.hosts).toEqual([
      { host: '::1', port: 2182 },
      { host: '2001:db8::7', port: 2181 },
      { host: '::ffff:192.0.2.1', port: 3000 },
    ]);
    expect(c.redacted).toBe('zookeeper://[::1]:2182,[2001:db8::7]:2181,[::ffff:192.0.2.1]:3000');
  });

  it('matches the scheme case-insensitively', () => {
    const c = parseUrl('ZooKeeper://h1');
    expect(c.scheme).toBe('zookeeper');
    expect(c.redacted).toBe('zookeeper://h1:2181');
  });

  it('parses etcd with a prefix and ttl (ttl sets sessionTimeout)', () => {
    const c = parseUrl('etcd://bob:pw@e1:2379,e2/coord/prod?ttl=7&connectTimeout=3000');
    expect(c.backend).toBe('etcd');
    expect(c.tls).toBe(false);
    expect(c.hosts).toEqual([
      { host: 'e1', port: 2379 },
      { host: 'e2', port: 2379 },
    ]);
    expect(c.namespace).toBe('/coord/prod');
    expect(c.options).toEqual({ ttlSeconds: 7 });
    expect(c.settings).toEqual({ sessionTimeout: 7000, connectTimeout: 3000, operationTimeout: 5000 });
    expect(c.redacted).toBe('etcd://bob:***@e1:2379,e2:2379/coord/prod?connectTimeout=3000&ttl=7');
  });

  it('parses etcds as TLS etcd, with a user and no password', () => {
    const c = parseUrl('etcds://root@etcd.example.com');
    expect(c.scheme).toBe('etcds');
    expect(c.backend).toBe('etcd');
    expect(c.tls).toBe(true);
    expect(c.hosts).toEqual([{ host: 'etcd.example.com', port: 2379 }]);
    expect(c.username).toBe('root');
    expect(c.password).toBeUndefined();
    expect(c.redacted).toBe('etcds://root@etcd.example.com:2379');
  });

  it('treats an empty password after ":" as no password', () => {
    const c = parseUrl('etcd://root:@h');
    expect(c.username).toBe('root');
    expect(c.password).toBeUndefined();
    expect(c.redacted).toBe('etcd://root@h:2379');
  });

  it('parses redis with a db and a prefix', () => {
    const c = parseUrl('redis://default:pw@cache:6380/3?prefix=app:v1&operationTimeout=100');
    expect(c.backend).toBe('redis');
    expect(c.tls).toBe(false);
    expect(c.hosts).toEqual([{ host: 'cache', port: 6380 }]);
    expect(c.options).toEqual({ db: 3, prefix: 'app:v1' });
    expect(c.settings.operationTimeout).toBe(100);
    expect(c.namespace).toBe('');
    expect(c.redacted).toBe('redis://default:***@cache:6380/3?operationTimeout=100&prefix=app:v1');
  });

  it('parses rediss with default port and db 0', () => {
    const c = parseUrl('rediss://cache.internal');
    expect(c.scheme).toBe('rediss');
    expect(c.backend).toBe('redis');
    expect(c.tls).toBe(true);
    expect(c.hosts).toEqual([{ host: 'cache.internal', port: 6379 }]);
    expect(c.options).toEqual({ db: 0 });
    expect(c.redacted).toBe('rediss://cache.internal:6379');
  });

  it('accepts redis://:pw@h (password only, no user name)', () => {
    const c = parseUrl('redis://:pw@h');
    expect(c.username).toBeUndefined();
    expect('username' in c).toBe(false);
    expect(c.password?.reveal()).toBe('pw');
    expect(c.redacted).toBe('redis://:***@h:6379');
  });

  it('percent-decodes the user name and password', () => {
    const c = parseUrl('redis://us%65r%20x:p%40ss%3Aw0rd@h');
    expect(c.username).toBe('user x');
    expect(c.password?.reveal()).toBe('p@ss:w0rd');
    expect(c.redacted).toBe('redis://user%20x:***@h:6379');
  });

  it('parses memory:// with the default store', () => {
    const c = parseUrl('memory://');
    expect(c).toEqual({
      scheme: 'memory',
      backend: 'memory',
      tls: false,
      hosts: [],
      namespace: '',
      settings: DEFAULT_SETTINGS,
      options: { storeName: 'default' },
      redacted: 'memory://',
    });
  });

  it('parses memory://name, with common options', () => {
    const c = parseUrl('memory://test-store_1.a?sessionTimeout=500');
    expect(c.options).toEqual({ storeName: 'test-store_1.a' });
    expect(c.hosts).toEqual([]);
    expect(c.settings.sessionTimeout).toBe(500);
    expect(c.redacted).toBe('memory://test-store_1.a?sessionTimeout=500');
  });

  it('accepts the boundaries of every range', () => {
    const lo = parseUrl('zookeeper://h:1?sessionTimeout=100&connectTimeout=1&operationTimeout=1');
    expect(lo.hosts[0]?.port).toBe(1);
    expect(lo.settings).toEqual({ sessionTimeout: 100, connectTimeout: 1, operationTimeout: 1 });
    const hi = parseUrl('zookeeper://h:65535?sessionTimeout=3600000&connectTimeout=600000&operationTimeout=600000');
    expect(hi.hosts[0]?.port).toBe(65535);
    expect(hi.settings).toEqual({ sessionTimeout: 3_600_000, connectTimeout: 600_000, operationTimeout: 600_000 });
    expect(parseUrl('etcd://h?ttl=1').options.ttlSeconds).toBe(1);
    expect(parseUrl('etcd://h?ttl=3600').settings.sessionTimeout).toBe(3_600_000);
    expect(parseUrl('redis://h/65535').options.db).toBe(65535);
    expect(parseUrl('redis://h/0').options.db).toBe(0);
    expect(parseUrl(`redis://h?prefix=${'a'.repeat(128)}`).options.prefix).toHaveLength(128);
    expect(parseUrl(`memory://${'n'.repeat(64)}`).options.storeName).toHaveLength(64);
  });

  it('returns a deeply frozen config', () => {
    const c = parseUrl('zookeeper://u:p@h1,h2/app?connectTimeout=5');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.hosts)).toBe(true);
    expect(Object.isFrozen(c.hosts[0])).toBe(true);
    expect(Object.isFrozen(c.settings)).toBe(true);
    expect(Object.isFrozen(c.options)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SETTINGS)).toBe(true);
    expect(() => {
      (c.hosts as { host: string; port: number }[]).push({ host: 'x', port: 1 });
    }).toThrow(TypeError);
  });
});

describe('parseUrl: overrides', () => {
  it('replaces settings from the URL', () => {
    const c = parseUrl('zookeeper://h?sessionTimeout=15000&connectTimeout=200', {
      sessionTimeout: 20_000,
      operationTimeout: 50,
    });
    expect(c.settings).toEqual({ sessionTimeout: 20_000, connectTimeout: 200, operationTimeout: 50 });
    // The redacted URL is the URL, not the effective settings.
    expect(c.redacted).toBe('zookeeper://h:2181?sessionTimeout=15000&connectTimeout=200');
  });

  it('ignores undefined and unrelated keys', () => {
    const overrides = { connectTimeout: undefined, signal: 'x' } as unknown as Partial<typeof DEFAULT_SETTINGS>;
    expect(parseUrl('memory://', overrides).settings).toEqual(DEFAULT_SETTINGS);
    expect(parseUrl('memory://', {}).settings).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps an etcd ttl consistent with an overridden sessionTimeout', () => {
    const c = parseUrl('etcd://h?ttl=10', { sessionTimeout: 4500 });
    expect(c.settings.sessionTimeout).toBe(4500);
    expect(c.options.ttlSeconds).toBe(5);
  });

  it.each([
    ['sessionTimeout', 99],
    ['sessionTimeout', 3_600_001],
    ['connectTimeout', 0],
    ['connectTimeout', 600_001],
    ['operationTimeout', -1],
    ['operationTimeout', 10.5],
    ['operationTimeout', Number.NaN],
    ['sessionTimeout', '1000'],
  ])('rejects a bad override %s=%p with INVALID_ARGUMENT', (name, value) => {
    const err = thrown(() => parseUrl('memory://', { [name]: value } as never));
    expect(isCoordError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect(err.message).toMatch(/^coord url: /);
    expect(err.message).toContain(name);
  });
});

describe('parseUrl: malformed and hostile URLs', () => {
  const cases: [string, unknown, RegExp][] = [
    ['empty string', '', /empty URL/],
    ['non-string (number)', 42, /string/],
    ['non-string (undefined)', undefined, /string/],
    ['non-string (object)', { toString: () => 'memory://' }, /string/],
    ['non-string (null)', null, /string/],
    ['missing ://', 'zookeeper:h1', /missing scheme/],
    ['unknown scheme mysql', 'mysql://h', /unknown scheme "mysql".*zookeeper:\/\//],
    ['unknown scheme http', 'http://h:80', /unknown scheme "http"/],
    ['empty scheme', '://h', /unknown scheme/],
    ['empty host', 'zookeeper://', /empty host/],
    ['empty host with port', 'zookeeper://:2181', /empty host/],
    ['empty host in list', 'zookeeper://h1,,h2', /empty host/],
    ['trailing comma', 'etcd://h1,', /empty host/],
    ['empty host before path', 'etcd:///prefix', /empty host/],
    ['port 0', 'zookeeper://h1:0', /invalid port "0" for host "h1"/],
    ['port 65536', 'zookeeper://h1:65536', /invalid port "65536".*1-65535/],
    ['port 99999', 'zookeeper://u:pw@h1:99999', /invalid port "99999" for host "h1" in zookeeper:\/\/\*\*\*@h1:99999: must be 1-65535/],
    ['port abc', 'etcd://h1:abc', /invalid port "abc"/],
    ['empty port', 'redis://h1:', /invalid port ""/],
    ['negative port', 'redis://h1:-1', /invalid port "-1"/],
    ['ipv6 empty port', 'zookeeper://[::1]:', /invalid port ""/],
    ['bad host chars', 'zookeeper://h_1', /invalid host "h_1"/],
    ['unbracketed ipv6', 'zookeeper://::1', /invalid host.*brackets/],
    ['bad ipv6', 'zookeeper://[1::2::3]', /invalid IPv6 address/],
    ['unclosed ipv6', 'zookeeper://[::1', /unclosed '\['/],
    ['junk after ipv6', 'zookeeper://[::1]x', /invalid host/],
    ['bad ipv4', 'zookeeper://300.1.1.1', /invalid host "300.1.1.1".*IPv4/],
    ['empty label', 'zookeeper://a..b', /invalid host "a..b".*empty label/],
    ['duplicate host', 'zookeeper://h1:2181,h1:2181', /duplicate host "h1:2181"/],
    ['duplicate host by default port', 'etcd://H1,h1:2379', /duplicate host "h1:2379"/],
    ['unknown option', 'etcd://h?foo=1', /unknown option "foo" for etcd.*known: .*ttl/],
    ['non-numeric timeout', 'zookeeper://h?sessionTimeout=abc', /invalid sessionTimeout "abc"/],
    ['negative timeout', 'zookeeper://h?connectTimeout=-5', /invalid connectTimeout "-5"/],
    ['timeout out of range', 'zookeeper://h?sessionTimeout=99', /invalid sessionTimeout "99".*100-3600000/],
    ['timeout above range', 'zookeeper://h?operationTimeout=600001', /invalid operationTimeout "600001"/],
    ['zero timeout', 'zookeeper://h?connectTimeout=0', /invalid connectTimeout "0"/],
    ['exponent timeout', 'zookeeper://h?sessionTimeout=1e3', /invalid sessionTimeout "1e3"/],
    ['fractional timeout', 'zookeeper://h?operationTimeout=10.5', /invalid operationTimeout "10.5"/],
    ['hex timeout', 'zookeeper://h?operationTimeout=0x10', /invalid operationTimeout "0x10"/],
    ['duplicate option', 'zookeeper://h?sessionTimeout=1000&sessionTimeout=2000', /duplicate option "sessionTimeout"/],
    ['empty value', 'zookeeper://h?sessionTimeout=', /empty value for option "sessionTimeout"/],
    ['option without =', 'zookeeper://h?sessionTimeout', /option "sessionTimeout" without a value/],
    ['option without a name', 'zookeeper://h?=5', /option without a name/],
    ['stray &', 'zookeeper://h?sessionTimeout=1000&', /empty option/],
    ['empty query', 'zookeeper://h?', /empty query/],
    ['option name is case-sensitive', 'zookeeper://h?sessiontimeout=1000', /unknown option "sessiontimeout"/],
    ['two @', 'zookeeper://u:p@ss@h1', /more than one '@'/],
    ['@ after the hosts', 'zookeeper://h1/a@b', /misplaced '@'/],
    ['newline', 'zookeeper://h1\n', /control character/],
    ['NUL', 'zookeeper://h1\u0000:2181', /control character/],
    ['tab', 'zookeeper://h1,\th2', /control character/],
    ['DEL', 'zookeeper://h1\u007f', /control character/],
    ['space', 'zookeeper://h1, h2', /space/],
    ['leading space', ' memory://', /space/],
    ['fragment', 'zookeeper://h1/app#frag', /'#' fragment/],
    ['malformed percent escape in password', 'zookeeper://u:p%zz@h1', /malformed percent-escape in the password/],
    ['truncated percent escape in user', 'zookeeper://u%4@h1', /malformed percent-escape in the user name/],
    ['empty user info', 'redis://@h', /empty user info/],
    ['password without user on zookeeper', 'zookeeper://:pw@h', /missing user name/],
    ['memory with port', 'memory://name:1234', /port/],
    ['memory with user', 'memory://u@name', /user info.*memory/],
    ['memory with path', 'memory://name/x', /path/],
    ['memory bad name', 'memory://a,b', /invalid store name "a,b"/],
    ['memory name too long', `memory://${'n'.repeat(65)}`, /invalid store name/],
    ['memory unknown option', 'memory://?prefix=x', /option "prefix" is only for redis/],
    ['redis with two hosts', 'redis://h1,h2', /2 hosts.*exactly one host/],
    ['redis bad db', 'redis://h/abc', /invalid database "abc"/],
    ['redis db out of range', 'redis://h/65536', /invalid database "65536"/],
    ['redis negative db', 'redis://h/-1', /invalid database "-1"/],
    ['redis nested path', 'redis://h/0/1', /invalid database "0\/1"/],
    ['redis bad prefix', 'redis://h?prefix=a%2Fb', /invalid prefix/],
    ['redis prefix too long', `redis://h?prefix=${'a'.repeat(129)}`, /invalid prefix/],
    ['redis ttl', 'redis://h?ttl=10', /option "ttl" is only for etcd/],
    ['etcd ttl + sessionTimeout conflict', 'etcd://h?ttl=10&sessionTimeout=5000', /conflicting options "ttl" and "sessionTimeout"/],
    ['etcd ttl 0', 'etcd://h?ttl=0', /invalid ttl "0".*1-3600/],
    ['etcd ttl too large', 'etcds://h?ttl=3601', /invalid ttl "3601"/],
    ['etcd ttl fractional', 'etcd://h?ttl=1.5', /invalid ttl "1.5"/],
    ['etcd bad prefix path', 'etcd://h/a/', /invalid key prefix "\/a\/".*end with/],
    ['ttl on zookeeper', 'zookeeper://h?ttl=10', /option "ttl" is only for etcd\/etcds/],
    ['prefix on zookeeper', 'zookeeper://h?prefix=app', /option "prefix" is only for redis\/rediss/],
    ['chroot with //', 'zookeeper://h/a//b', /invalid chroot "\/a\/\/b".*empty segment/],
    ['chroot with trailing /', 'zookeeper://h/a/', /invalid chroot "\/a\/".*must not end with/],
    ['chroot with ..', 'zookeeper://h/a/../b', /invalid chroot.*'\.\.' segment/],
    ['option named like an Object property', 'etcd://h?constructor=1', /unknown option "constructor"/],
    ['option named toString', 'zookeeper://h?toString=1', /unknown option "toString"/],
    ['lone surrogate in the user name', 'etcd://%ED%A0%80@h', /malformed percent-escape|not well-formed/],
    ['raw lone surrogate in the user name', 'etcd://\uD800@h', /not well-formed Unicode/],
    ['raw lone surrogate in the password', 'etcd://u:\uDC00x@h', /password is not well-formed Unicode/],
  ];

  it(`has at least 30 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('rejects %s', (_label, input, pattern) => {
    const err = thrown(() => parseUrl(input as string));
    expect(isCoordError(err, 'INVALID_URL')).toBe(true);
    expect(err.code).toBe('INVALID_URL');
    expect(err.name).toBe('CoordError');
    expect(err.retryable).toBe(false);
    expect(err.message.startsWith('coord url: ')).toBe(true);
    expect(err.message).toMatch(pattern);
    // No raw control characters are echoed back.
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('bounds the echoed URL', () => {
    const err = thrown(() => parseUrl(`zookeeper://${'h'.repeat(5000)}:0`));
    expect(err.message.length).toBeLessThan(400);
  });
});

describe('redactUrl', () => {
  it.each([
    ['zookeeper://u:pw@h1:2181', 'zookeeper://***@h1:2181'],
    ['redis://:pw@h', 'redis://***@h'],
    ['redis://u:p@ss@h/0', 'redis://***@h/0'],
    ['redis://u:p/a?b@h', 'redis://***@h'],
    ['u:pw@h', '***@h'],
    ['pw@x://h', '***@x://h'],
    ['a@b://c@d', '***@d'],
    ['zookeeper://h1,h2/app', 'zookeeper://h1,h2/app'],
    ['', ''],
    ['zk://h\n\u0000x', 'zk://h??x'],
  ])('%j → %j', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('truncates to 200 characters', () => {
    const out = redactUrl(`zookeeper://${'h'.repeat(1000)}`);
    expect(out.length).toBe(200);
    expect(out.startsWith('zookeeper://hhh')).toBe(true);
  });
});

describe('password canary: the password never leaks', () => {
  const PLAIN = 'S3cr3t-Canary-pw';
  const ENCODED = 'p%40ss%3Aw0rd';
  const DECODED = 'p@ss:w0rd';
  // Whole forms and fragments (a hostile URL may split the password).
  const FORBIDDEN = [PLAIN, 'S3cr3t', 'Canary', ENCODED, DECODED, 'p%40ss', 'w0rd', 'p@ss'];

  function expectClean(text: string | undefined, where: string): void {
    expect(typeof text).toBe('string');
    for (const bad of FORBIDDEN) {
      if (text?.includes(bad)) throw new Error(`${where} leaks ${JSON.stringify(bad)}: ${text}`);
    }
  }

  function expectErrorClean(err: CoordError): void {
    expectClean(err.message, 'message');
    expectClean(err.stack, 'stack');
    expectClean(inspect(err), 'inspect(err)');
    expectClean(inspect(err, { depth: 10, showHidden: true }), 'inspect(err, showHidden)');
    expectClean(JSON.stringify(err), 'JSON.stringify(err)');
    expectClean(String(err), 'String(err)');
    expectClean(format('%o %O %s', err, err, err), 'format(err)');
  }

  function expectConfigClean(c: ConnectionConfig): void {
    expectClean(inspect(c, { depth: 10, showHidden: true }), 'inspect(config)');
    expectClean(inspect(c), 'inspect(config) default');
    expectClean(JSON.stringify(c), 'JSON.stringify(config)');
    expectClean(String(c.password), 'String(password)');
    expectClean(`${c.password}`, 'template(password)');
    expectClean(c.redacted, 'redacted');
    expectClean(format('%o %O %j %s', c, c, c, c), 'format(config)');
    expectClean(JSON.stringify({ ...c }), 'spread config');
    expectClean(JSON.stringify(Object.entries(c)), 'entries');
    expectClean(Object.keys(c.password ?? {}).join(','), 'keys(password)');
  }

  const valid: [string, string][] = [
    [`zookeeper://alice:${PLAIN}@h1:2181,h2:2181/app?sessionTimeout=15000`, PLAIN],
    [`zookeeper://alice:${ENCODED}@[::1]/app`, DECODED],
    [`etcd://alice:${PLAIN}@e1/prefix?ttl=5`, PLAIN],
    [`etcds://alice:${ENCODED}@e1:2379,e2:2379`, DECODED],
    [`redis://:${PLAIN}@h/2?prefix=x`, PLAIN],
    [`redis://:${ENCODED}@h`, DECODED],
    [`rediss://default:${PLAIN}@cache:6380`, PLAIN],
    [`REDISS://default:${ENCODED}@cache/1`, DECODED],
  ];

  it.each(valid)('valid %s', (url, expected) => {
    const c = parseUrl(url, { operationTimeout: 1000 });
    expect(c.password?.reveal()).toBe(expected);
    expect(c.redacted).toContain(':***@');
    expectConfigClean(c);
  });

  const invalid: string[] = [
    `zookeeper://alice:${PLAIN}@h1:99999`,
    `zookeeper://alice:${PLAIN}@h1:0`,
    `zookeeper://alice:${PLAIN}@`,
    `zookeeper://alice:${PLAIN}@h1,,h2`,
    `zookeeper://alice:${PLAIN}@h1?foo=1`,
    `zookeeper://alice:${PLAIN}@h1?sessionTimeout=1e3`,
    `zookeeper://alice:${PLAIN}@h1?ttl=3`,
    `zookeeper://alice:${PLAIN}@h1/a//b`,
    `zookeeper://alice:${PLAIN}@h1,h1`,
    `zookeeper://alice:${PLAIN}@@h1`,
    `zookeeper://alice:S3cr3t@Canary-pw@h1`,
    `zookeeper://alice:${PLAIN}%zz@h1`,
    `zookeeper://alice:${ENCODED}%@h1`,
    `zookeeper://:${PLAIN}@h1`,
    `zookeeper://alice:${ENCODED}@h1:abc`,
    `redis://alice:S3cr3t/Canary-pw@h`,
    `redis://alice:S3cr3t?Canary-pw@h`,
    `redis://alice:S3cr3t?Canary=pw@h`,
    `redis://alice:S3cr3t#Canary-pw@h`,
    `redis://alice:S3cr3t Canary-pw@h`,
    `redis://alice:S3cr3t\nCanary-pw@h`,
    `redis://alice:S3cr3t\u0000Canary-pw@h`,
    `redis://alice:${PLAIN}@h1,h2`,
    `redis://alice:${PLAIN}@h/abc`,
    `redis://alice:${ENCODED}@h?prefix=a/b`,
    `etcd://alice:${PLAIN}@h?ttl=1&sessionTimeout=1000`,
    `etcd://alice:${ENCODED}@h?ttl=0`,
    `memory://alice:${PLAIN}@x`,
    `mysql://alice:${PLAIN}@h`,
    `alice:${PLAIN}@h`,
    `${PLAIN}@zookeeper://h`,
    `zookeeper://alice:${PLAIN}@${'h'.repeat(400)}:0`,
    `zookeeper://${'u'.repeat(300)}:${PLAIN}@h1:0`,
  ];

  it.each(invalid)('invalid %j', (url) => {
    const err = thrown(() => parseUrl(url));
    expect(err.code).toBe('INVALID_URL');
    expectErrorClean(err);
  });

  it('a bad override on a URL with a password does not leak it', () => {
    const err = thrown(() => parseUrl(`zookeeper://alice:${PLAIN}@h1`, { sessionTimeout: -1 }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expectErrorClean(err);
  });

  it('redactUrl hides the password of every case', () => {
    for (const url of [...invalid, ...valid.map(([u]) => u)]) expectClean(redactUrl(url), `redactUrl(${url})`);
  });
});
