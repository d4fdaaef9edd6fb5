/**
 * `@coord/etcd`: the etcd v3 driver, on the `etcd3` package.
 *
 * @example
 * ```ts
 * import { connect } from 'coord';
 * const coord = await connect('etcd://user:secret@h1:2379,h2:2379/app?ttl=10');
 * ```
 */
import { CoordError, type ConnectionConfig } from '@coord/core';
import { EtcdDriver } from './driver.js';

export { EtcdDriver } from './driver.js';
export { KeyLayout, type KeyRange } from './keys.js';
export { classify, toCoordError, type Failure } from './errors.js';

/**
 * Opens an etcd driver (and its first session, a lease) for a parsed `etcd://` or
 * `etcds://` URL, within `connectTimeout`.
 * @throws CoordError `UNAVAILABLE` / `TIMEOUT` if no member answers in time; `AUTH_FAILED` if
 *   the credentials are refused; `INVALID_URL` for a URL of another backend.
 */
export async function createDriver(config: ConnectionConfig): Promise<EtcdDriver> {
  if (config.backend !== 'etcd') {
    throw new CoordError('INVALID_URL', `@coord/etcd: ${config.redacted} is not an etcd URL`);
  }
  return EtcdDriver.open(config);
}
