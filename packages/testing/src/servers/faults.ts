/**
 * Session expiry on demand, for each backend, the way the backend itself would do it — so a
 * test sees exactly what a client sees when its session dies on the server:
 *
 * - ZooKeeper: open a second connection on the victim's session (id + password), then close
 *   that session. The server ends it for everyone: its ephemeral nodes go, the victim's
 *   connection is dropped and its reconnect is refused as expired. (Curator's and kazoo's
 *   test harnesses do the same.)
 * - etcd: revoke the session's lease; the keys attached to it are deleted.
 * - Redis: delete the key that represents the session.
 *
 * Every helper takes a server or cluster handle (or a Coord URL) and tries the members in
 * turn, so it works with one member down or paused.
 */
import { CoordError } from '@coord/core';
import { EtcdHttpError, etcdCall } from './etcd-http.js';
import { withDeadline, type Endpoint } from './net.js';
import { redisCommands } from './resp.js';
import { endpointsOf, type ServerTarget } from './targets.js';
import { ZooKeeperWire } from './zookeeper-wire.js';

/** Options of the fault helpers. */
export interface FaultOptions {
  /** Time allowed per member tried, ms (default 5 000). */
  readonly timeout?: number;
}

const DEFAULT_TIMEOUT = 5_000;

/**
 * Runs `fn` against each endpoint until one answers. Errors that are answers (`isAnswer`)
 * end the search and are thrown; network errors move on to the next member.
 */
async function onAnyMember<T>(
  target: ServerTarget,
  what: string,
  options: FaultOptions,
  fn: (endpoint: Endpoint, signal: AbortSignal) => Promise<T>,
  isAnswer: (error: unknown) => boolean = () => false,
): Promise<T> {
  const failures: string[] = [];
  for (const endpoint of endpointsOf(target)) {
    try {
      return await withDeadline(options.timeout ?? DEFAULT_TIMEOUT, (signal) => fn(endpoint, signal));
    } catch (error) {
      if (isAnswer(error)) throw error;
      failures.push(`${endpoint.host}:${endpoint.port}: ${(error as Error).message}`);
    }
  }
  throw new CoordError('UNAVAILABLE', `@coord/testing: ${what}: no member answered (${failures.join('; ')})`);
}

/**
 * Parses a ZooKeeper session id: hexadecimal, with or without `0x` (as ZooKeeper and its
 * clients print it, e.g. `0x100012af5c70000`).
 * @throws CoordError `INVALID_ARGUMENT` for anything else.
 */
export function parseZooKeeperSessionId(id: string | bigint): bigint {
  if (typeof id === 'bigint') return id;
  const hex = id.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) {
    throw new CoordError('INVALID_ARGUMENT', `@coord/testing: "${id}" is not a hexadecimal ZooKeeper session id`);
  }
  return BigInt(`0x${hex}`);
}

function sessionPassword(password: string | Uint8Array): Uint8Array {
  if (typeof password !== 'string') return password;
  if (!/^([0-9a-f]{2})+$/i.test(password)) {
    throw new CoordError('INVALID_ARGUMENT', '@coord/testing: a ZooKeeper session password string must be hexadecimal');
  }
  return Buffer.from(password, 'hex');
}

/** Takeovers tried while the session's owner keeps taking it back. */
const TAKEOVER_ATTEMPTS = 50;

/**
 * Expires a ZooKeeper session now, as the server would after its timeout.
 * @param sessionId the session id in hexadecimal (`0x…` optional), or as a bigint.
 * @param password the session password: 16 bytes, or their hexadecimal form.
 * @returns true if the session was alive; false if the server refused it (already expired,
 *   unknown, or a wrong password — ZooKeeper answers all three alike).
 * @example `await expireZooKeeperSession(zk, driver.session.id, password);`
 * @throws CoordError `INVALID_ARGUMENT` for a malformed id or password; `UNAVAILABLE` if
 *   no member of `target` answers.
 */
export async function expireZooKeeperSession(
  target: ServerTarget,
  sessionId: string | bigint,
  password: string | Uint8Array,
  options: FaultOptions = {},
): Promise<boolean> {
  const id = parseZooKeeperSessionId(sessionId);
  const secret = sessionPassword(password);
  return onAnyMember(target, 'expire a ZooKeeper session', options, async (endpoint, signal) => {
    // An owner that reconnects at once (the C client does) takes its session back, and the
    // server then closes our connection and drops our closeSession as coming from a stale
    // connection — or applies it and closes before replying. So take over again until the
    // closeSession is confirmed, or the server refuses the session: we ended it.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const wire = await ZooKeeperWire.connect(endpoint, { sessionId: id, password: secret }, signal);
        await wire.closeSession(signal);
        return true;
      } catch (error) {
        if (error instanceof CoordError && error.code === 'SESSION_EXPIRED') return attempt > 1;
        if (attempt >= TAKEOVER_ATTEMPTS || signal.aborted) throw error;
      }
    }
  });
}

/**
 * Revokes an etcd lease now (the keys attached to it are deleted), as its expiry would.
 * @param leaseId the lease id in decimal (as etcd3 and the etcd API print it), or a bigint.
 * @returns true if the lease existed.
 * @example `await revokeEtcdLease(etcd, driver.session.id);`
 * @throws CoordError `INVALID_ARGUMENT` for a malformed id; `UNAVAILABLE` if no member answers.
 */
export async function revokeEtcdLease(target: ServerTarget, leaseId: string | bigint, options: FaultOptions = {}): Promise<boolean> {
  const id = String(leaseId).trim();
  if (!/^\d{1,20}$/.test(id)) {
    throw new CoordError('INVALID_ARGUMENT', `@coord/testing: "${id}" is not a decimal etcd lease id`);
  }
  const notFound = (error: unknown): boolean => error instanceof EtcdHttpError && /lease not found/i.test(error.message);
  try {
    await onAnyMember(target, 'revoke an etcd lease', options, (endpoint, signal) =>
      etcdCall(endpoint, '/v3/lease/revoke', { ID: id }, signal), notFound);
    return true;
  } catch (error) {
    if (notFound(error)) return false;
    throw error;
  }
}

/** Options of {@link deleteRedisKey}. */
export interface RedisFaultOptions extends FaultOptions {
  /** The logical database (default 0; the `/db` of a `redis://` URL). */
  readonly db?: number;
}

/**
 * Deletes a Redis key now (e.g. the key that keeps a session alive).
 * @returns true if the key existed.
 * @example `await deleteRedisKey(redis, sessionKey);`
 * @throws CoordError `UNAVAILABLE` if the server does not answer.
 */
export async function deleteRedisKey(target: ServerTarget, key: string, options: RedisFaultOptions = {}): Promise<boolean> {
  const commands = [['SELECT', String(options.db ?? 0)], ['DEL', key]];
  const deleted = await onAnyMember(target, 'delete a Redis key', options, (endpoint, signal) =>
    redisCommands(endpoint, commands, signal));
  return deleted === 1;
}
