// connect(): URL errors, lazily loaded drivers, state events, and that no password
// escapes through any error or public object.
import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import type { Driver } from '@coord/core';
import { storeNamed } from '@coord/memory';
import { ForwardingDriver, rejectedCoordError } from '@coord/testing';
import { connect, isCoordError, type ConnectOptions, type Coordinator } from '../src/index.js';

const CANARY = 'Canary-Pa55word';

/** Every printable face of a value: the canary must be in none of them. */
function faces(value: unknown): string {
  const error = value as { message?: unknown; stack?: unknown };
  return [String(error.message), String(error.stack), inspect(value, { depth: 10, showHidden: true }), JSON.stringify(value)].join('\n');
}

describe('connect', () => {
  it('opens a session on memory:// and closes it', async () => {
    const coord = await connect('memory://connect-test?sessionTimeout=3000');
    expect(coord.session.state).toBe('connected');
    expect(coord.session.ttlMs).toBe(3000);
    expect(coord.driver.name).toBe('memory');
    const signal = coord.session.signal;
    await coord.close();
    await coord.close();
    expect(signal.aborted).toBe(true);
    expect(coord.closed).toBe(true);
  });

  it('lets options override the URL', async () => {
    await using coord = await connect('memory://connect-test?sessionTimeout=3000', { sessionTimeout: 4000 });
    expect(coord.session.ttlMs).toBe(4000);
  });

  it('reports session state transitions, including the fresh session after an expiry', async () => {
    await using coord = await connect('memory://connect-test');
    const seen: string[] = [];
    const listener = ({ previous, state }: { previous: string; state: string }): void => void seen.push(`${previous}->${state}`);
    coord.on('state', listener);
    const first = coord.session;
    (coord.driver as unknown as { expireSession(): void }).expireSession();
    expect(first.state).toBe('expired');
    expect(coord.session).not.toBe(first);
    expect(coord.session.state).toBe('connected');
    expect(seen).toEqual(['connected->expired', 'expired->connected']);
    coord.off('state', listener);
  });

  it.each(['zookeeper://127.0.0.1:1', 'etcd://127.0.0.1:1', 'etcds://127.0.0.1:1', 'redis://127.0.0.1:1', 'rediss://127.0.0.1:1'])(
    'loads the driver of %s lazily: with nothing listening, UNAVAILABLE within connectTimeout',
    async (url) => {
      // 1.5 s: on a loaded machine a TLS client may not even have been refused within 300 ms,
      // and a deadline that passes with no answer at all is TIMEOUT, not UNAVAILABLE.
      const error = await rejectedCoordError(connect(`${url}?connectTimeout=1500`));
      expect(isCoordError(error, 'UNAVAILABLE')).toBe(true);
      expect(error.message).toContain('127.0.0.1:1');
    },
  );

  it.each(['', 'mysql://h', 'zookeeper://', 'zookeeper://h:0', 'memory://x?bogus=1', 'etcd://h:99999'])(
    'rejects %j with INVALID_URL',
    async (url) => {
      expect(isCoordError(await rejectedCoordError(connect(url)), 'INVALID_URL')).toBe(true);
    },
  );

  describe('options and wrapDriver', () => {
    const sessions = (): number => storeNamed('wrap-test').stats().sessions;

    it.each([null, 'sessionTimeout=5', 42, [1]])('refuses options %j with INVALID_ARGUMENT before opening a session', async (options) => {
      const error = await rejectedCoordError(connect('memory://wrap-test', options as unknown as ConnectOptions));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('options');
      expect(sessions()).toBe(0);
    });

    it.each([null, 'wrap', {}, 1])('refuses a wrapDriver %j that is not a function, before opening a session', async (wrapDriver) => {
      const error = await rejectedCoordError(connect('memory://wrap-test', { wrapDriver } as unknown as ConnectOptions));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('wrapDriver');
      expect(sessions()).toBe(0);
    });

    it('closes the session it opened when wrapDriver throws, and rejects INVALID_ARGUMENT with the cause', async () => {
      const thrown = new Error('wrapper exploded');
      let given: Driver | undefined;
      const error = await rejectedCoordError(
        connect('memory://wrap-test', {
          wrapDriver: (driver) => {
            given = driver;
            throw thrown;
          },
        }),
      );
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('wrapDriver');
      expect(error.cause).toBe(thrown);
      expect(given?.session.state).toBe('closed');
      expect(sessions()).toBe(0);
    });

    it('closes the session it opened when wrapDriver returns no driver', async () => {
      const error = await rejectedCoordError(connect('memory://wrap-test', { wrapDriver: () => undefined as unknown as Driver }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(sessions()).toBe(0);
    });

    it('uses the driver wrapDriver returns', async () => {
      await using coord = await connect('memory://wrap-test', { wrapDriver: (driver) => new ForwardingDriver(driver) });
      expect(coord.driver).toBeInstanceOf(ForwardingDriver);
      expect(sessions()).toBe(1);
    });
  });

  it('rejects bad option overrides with INVALID_ARGUMENT', async () => {
    const error = await rejectedCoordError(connect('memory://', { sessionTimeout: -5 }));
    expect(isCoordError(error, 'INVALID_ARGUMENT')).toBe(true);
  });

  it.each([
    `zookeeper://admin:${CANARY}@localhost:2181/app`,
    `etcds://root:${CANARY}@h1:2379,h2:2379/prefix?ttl=5`,
    `redis://:${CANARY}@localhost:6379/0`,
    `zookeeper://admin:${CANARY}@localhost:0`,
    `etcd://root:${CANARY}@@h`,
    `redis://:${CANARY}@h1,h2`,
    `zookeeper://admin:${CANARY}@h?sessionTimeout=x`,
    `memory://admin:${CANARY}@x`,
  ])('never shows the password of %s', async (url) => {
    const error = await rejectedCoordError(connect(url));
    expect(isCoordError(error)).toBe(true);
    expect(faces(error)).not.toContain(CANARY);
    expect(faces((error as { cause?: unknown }).cause ?? '')).not.toContain(CANARY);
  });

  it('keeps public objects printable and password-free', async () => {
    let coord: Coordinator | undefined = await connect('memory://connect-test');
    const held = await coord.lock('/printable').acquire();
    for (const value of [coord, coord.session, held, coord.driver]) {
      expect(() => JSON.stringify(value)).not.toThrow();
      expect(() => inspect(value)).not.toThrow();
    }
    expect(JSON.parse(JSON.stringify(held))).toMatchObject({ what: 'lock /printable', released: false });
    await held.release();
    await coord.close();
    coord = undefined;
  });
});
