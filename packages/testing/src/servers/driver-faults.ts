/**
 * Fault hooks on a Coord driver's session, for fixtures (the conformance suite's and users'):
 * pick the server-side injection by the driver's backend.
 *
 * What each driver must expose (only these tests need it; nothing else reads it):
 * - ZooKeeper: `session.id` is the session id in hexadecimal, and the driver has a
 *   `sessionPassword()` method returning the session password (16 bytes, or hexadecimal).
 *   A method rather than a property, so the secret never shows in `util.inspect` or JSON.
 * - etcd: `session.id` is the lease id in decimal.
 * - Redis: the driver has a `sessionKey()` method naming the key whose expiry ends the session.
 */
import { CoordError, type Driver } from '@coord/core';
import { deleteRedisKey, expireZooKeeperSession, revokeEtcdLease, type FaultOptions } from './faults.js';
import type { ServerTarget } from './targets.js';
import { untilAborted } from '../polling.js';

/** What a ZooKeeper driver exposes so a test can take over (and expire) its session. */
export interface ZooKeeperSessionSecret {
  /** The current session's password: 16 bytes, or their hexadecimal form. */
  sessionPassword(): Uint8Array | string;
}

/** What a Redis driver exposes so a test can expire its session. */
export interface RedisSessionKey {
  /** The key whose expiry (or deletion) ends the current session. */
  sessionKey(): string;
}

function hook<K extends string>(driver: Driver, method: K, what: string): () => unknown {
  const fn = (driver as unknown as Partial<Record<K, unknown>>)[method];
  if (typeof fn !== 'function') {
    throw new CoordError('UNSUPPORTED', `@coord/testing: the ${driver.name} driver has no ${method}() method (${what})`);
  }
  return (fn as () => unknown).bind(driver);
}

async function expire(driver: Driver, target: ServerTarget, options: FaultOptions): Promise<boolean> {
  const id = driver.session.id;
  switch (driver.name) {
    case 'zookeeper': {
      const password = hook(driver, 'sessionPassword', 'needed to expire its session')() as Uint8Array | string;
      return expireZooKeeperSession(target, id, password, options);
    }
    case 'etcd':
      return revokeEtcdLease(target, id, options);
    case 'redis': {
      const session = driver.session;
      const deleted = await deleteRedisKey(target, hook(driver, 'sessionKey', 'needed to expire its session')() as string, options);
      // The driver hears of the deletion on another connection than ours (its tracking
      // notice), so it may land a moment after our reply: wait for it, as kazoo's
      // expire_session waits for the client to see LOST. Bounded by the session's TTL.
      if (deleted) await untilAborted(session.signal, session.ttlMs);
      return deleted;
    }
    default:
      throw new CoordError('UNSUPPORTED', `@coord/testing: no server-side session expiry for ${driver.name}`);
  }
}

/**
 * Expires the driver's current session on the server, by the backend's own means
 * (ZooKeeper: takeover + closeSession; etcd: lease revocation; Redis: session key deletion).
 * @example
 * ```ts
 * conformance({ ..., faults: { expireSession: (driver) => expireDriverSession(server, driver) } });
 * ```
 * @throws CoordError `UNSUPPORTED` if the driver does not expose what its backend needs (see
 *   the module comment); `LOST` if the session was already gone on the server;
 *   `UNAVAILABLE` if no member answers.
 */
export async function expireDriverSession(target: ServerTarget, driver: Driver, options: FaultOptions = {}): Promise<void> {
  if (!(await expire(driver, target, options))) {
    throw new CoordError('LOST', `@coord/testing: ${driver.name} session ${driver.session.id} was already gone on the server`);
  }
}
