/**
 * Maps a backend to the package that implements it. Drivers are imported lazily, on the
 * first `connect` that names their scheme, so using Redis never loads the ZooKeeper addon.
 */
import type { ConnectionConfig } from './config.js';
import type { BackendName, Driver } from './driver.js';
import { CoordError } from './errors.js';

/** What a driver package exports. */
export interface DriverModule {
  /**
   * Opens a driver (and its first session) for a parsed URL, within
   * `config.settings.connectTimeout`.
   * @throws CoordError `UNAVAILABLE`, `TIMEOUT` or `AUTH_FAILED`.
   */
  createDriver(config: ConnectionConfig): Promise<Driver>;
}

/** Loads a driver module; the default imports the package named in {@link DRIVER_PACKAGES}. */
export type DriverLoader = () => Promise<unknown>;

/** The package that implements each backend. */
export const DRIVER_PACKAGES: Readonly<Record<BackendName, string>> = Object.freeze({
  memory: '@coord/memory',
  zookeeper: '@coord/zookeeper',
  etcd: '@coord/etcd',
  redis: '@coord/redis',
});

const loaders = new Map<BackendName, DriverLoader>();

/**
 * Registers (or replaces) the loader of a backend's driver.
 * @example registerDriver('redis', () => import('@coord/redis'));
 */
export function registerDriver(backend: BackendName, loader: DriverLoader): void {
  loaders.set(backend, loader);
}

/**
 * Loads the driver module of a backend.
 * @throws CoordError `UNSUPPORTED` when no loader is registered, the package is not
 *   installed, or it does not export `createDriver`.
 */
export async function loadDriver(backend: BackendName): Promise<DriverModule> {
  const loader = loaders.get(backend);
  const pkg = DRIVER_PACKAGES[backend];
  if (loader === undefined) {
    throw new CoordError('UNSUPPORTED', `coord: no driver registered for ${backend} (expected package ${pkg})`);
  }
  let loaded: unknown;
  try {
    loaded = await loader();
  } catch (error) {
    // A loader may reject with anything, even undefined. Node's ESM loader says
    // ERR_MODULE_NOT_FOUND; Jest's module system says MODULE_NOT_FOUND for the same thing.
    const code = (error as { code?: unknown } | null | undefined)?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    const why = missing ? `package ${pkg} is not installed (the ${backend} driver is not available in this build)` : `loading ${pkg} failed`;
    throw new CoordError('UNSUPPORTED', `coord: ${backend} driver unavailable: ${why}`, { cause: error });
  }
  if (typeof (loaded as Partial<DriverModule> | undefined)?.createDriver !== 'function') {
    throw new CoordError('UNSUPPORTED', `coord: ${pkg} does not export createDriver()`);
  }
  return loaded as DriverModule;
}
