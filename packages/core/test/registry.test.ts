import { describe, it, expect } from '@jest/globals';
import type { ConnectionConfig } from '../src/config.js';
import type { Driver } from '../src/driver.js';
import { CoordError, isCoordError } from '../src/errors.js';
import { DRIVER_PACKAGES, loadDriver, registerDriver, type DriverModule } from '../src/registry.js';
import { rejection } from './helpers.js';

// The registry is module state. Jest gives this file its own module registry, and each test
// below uses its backend in a way that does not depend on what an earlier test registered
// (every test registers what it needs first; the "no loader" test runs first on a backend
// no other test touches).


const goodModule: DriverModule = {
  createDriver: (_config: ConnectionConfig): Promise<Driver> => Promise.reject(new Error('not used here')),
};

describe('DRIVER_PACKAGES', () => {
  it('names the package of every backend and is frozen', () => {
    expect(DRIVER_PACKAGES).toEqual({
      memory: '@coord/memory',
      zookeeper: '@coord/zookeeper',
      etcd: '@coord/etcd',
      redis: '@coord/redis',
    });
    expect(Object.isFrozen(DRIVER_PACKAGES)).toBe(true);
  });
});

describe('loadDriver', () => {
  it('rejects with UNSUPPORTED when no loader is registered', async () => {
    // Nothing in this file registers zookeeper before this test.
    const e = await rejection(loadDriver('zookeeper'));
    expect(e).toBeInstanceOf(CoordError);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe('coord: no driver registered for zookeeper (expected package @coord/zookeeper)');
  });

  it('maps a loader failing with ERR_MODULE_NOT_FOUND to UNSUPPORTED naming the package', async () => {
    const missing = Object.assign(new Error("Cannot find package '@coord/redis'"), { code: 'ERR_MODULE_NOT_FOUND' });
    registerDriver('redis', () => Promise.reject(missing));
    const e = await rejection(loadDriver('redis'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('@coord/redis');
    expect(e.message).toBe(
      'coord: redis driver unavailable: package @coord/redis is not installed (the redis driver is not available in this build)',
    );
    expect(e.cause).toBe(missing);
  });

  it('maps a loader that throws synchronously the same way', async () => {
    const missing = Object.assign(new Error('nope'), { code: 'ERR_MODULE_NOT_FOUND' });
    registerDriver('etcd', () => {
      throw missing;
    });
    const e = await rejection(loadDriver('etcd'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('package @coord/etcd is not installed');
    expect(e.cause).toBe(missing);
  });

  it('maps any other loader failure to UNSUPPORTED "loading <pkg> failed", keeping the cause', async () => {
    const broken = new SyntaxError('Unexpected token');
    registerDriver('etcd', () => Promise.reject(broken));
    const e = await rejection(loadDriver('etcd'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('coord: etcd driver unavailable: loading @coord/etcd failed');
    expect(e.cause).toBe(broken);
  });

  it("treats Jest's MODULE_NOT_FOUND like Node's ERR_MODULE_NOT_FOUND: the package is not installed", async () => {
    const other = Object.assign(new Error('x'), { code: 'MODULE_NOT_FOUND' });
    registerDriver('etcd', () => Promise.reject(other));
    expect((await rejection(loadDriver('etcd'))).message).toContain('package @coord/etcd is not installed');
  });

  // errors.ts: every failure a user can see is a CoordError. The catch block of loadDriver
  // reads `(error as { code?: unknown }).code`, which itself throws a TypeError when the
  // loader rejects with null or undefined.
  it('maps a loader rejecting with undefined or null to UNSUPPORTED', async () => {
    registerDriver('redis', () => Promise.reject(undefined));
    expect((await rejection(loadDriver('redis'))).code).toBe('UNSUPPORTED');
    registerDriver('redis', () => Promise.reject(null));
    expect((await rejection(loadDriver('redis'))).code).toBe('UNSUPPORTED');
  });

  it('maps a loader rejecting with a non-error value (a string) to UNSUPPORTED', async () => {
    registerDriver('redis', () => Promise.reject('just a string'));
    const e = await rejection(loadDriver('redis'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.cause).toBe('just a string');
  });

  it('maps a real import() of a package that does not exist to UNSUPPORTED', async () => {
    const specifier: string = '@coord/no-such-driver-package';
    registerDriver('zookeeper', () => import(specifier));
    const e = await rejection(loadDriver('zookeeper'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('@coord/zookeeper');
    expect(e.cause).toBeDefined();
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty module', {}],
    ['a module whose createDriver is not a function', { createDriver: 'nope' }],
    ['a module with only a default export', { default: goodModule }],
    ['a number', 42],
  ])('rejects %s with UNSUPPORTED "does not export createDriver()"', async (_what, loaded) => {
    registerDriver('redis', () => Promise.resolve(loaded));
    const e = await rejection(loadDriver('redis'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('coord: @coord/redis does not export createDriver()');
  });

  it('returns a module that exports createDriver', async () => {
    registerDriver('etcd', () => Promise.resolve(goodModule));
    await expect(loadDriver('etcd')).resolves.toBe(goodModule);
  });

  it('registerDriver replaces an earlier loader of the same backend', async () => {
    registerDriver('redis', () => Promise.resolve({}));
    await expect(loadDriver('redis')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    const replacement: DriverModule = { createDriver: goodModule.createDriver };
    registerDriver('redis', () => Promise.resolve(replacement));
    await expect(loadDriver('redis')).resolves.toBe(replacement);
    registerDriver('redis', () => Promise.reject(Object.assign(new Error('gone'), { code: 'ERR_MODULE_NOT_FOUND' })));
    await expect(loadDriver('redis')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('only affects the backend registered', async () => {
    registerDriver('etcd', () => Promise.resolve(goodModule));
    registerDriver('redis', () => Promise.resolve({}));
    await expect(loadDriver('etcd')).resolves.toBe(goodModule);
    await expect(loadDriver('redis')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('rejects a real module (loaded with import()) that has no createDriver', async () => {
    registerDriver('etcd', () => import('../src/errors.js'));
    const e = await rejection(loadDriver('etcd'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('coord: @coord/etcd does not export createDriver()');
  });

  it('returns a real ES module namespace that exports createDriver', async () => {
    const source = 'export async function createDriver() { throw new Error("unused"); }';
    const specifier: string = `data:text/javascript,${encodeURIComponent(source)}`;
    registerDriver('etcd', () => import(specifier));
    const loaded = await loadDriver('etcd');
    expect(typeof loaded.createDriver).toBe('function');
  });
});
