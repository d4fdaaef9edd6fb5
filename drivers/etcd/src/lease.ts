/**
 * Opening and ending leases: the grant of a session's lease (under an id the client picks)
 * with its session key, and revocation.
 */
import { randomBytes } from 'node:crypto';
import { CoordError, monotonicNow, type ConnectionConfig } from '@coord/core';
import type { Endpoints, Requests } from './client.js';
import type { KeyCodec } from './keys.js';

/** A lease etcd granted. */
export interface Grant {
  readonly id: string;
  /** Monotonic send time of the grant request (the session's first renewal). */
  readonly sentAt: number;
}

/**
 * Grants lease `id` (client-chosen, see {@link LeaseKeeper}) and puts the session key on it
 * (see {@link KeyCodec.sessionKey}). A repeat after a lost reply finds the lease already
 * granted: that is ours, and the deadline counts from the first send (the earliest etcd can
 * have started it). A fresh id that collides with another client's lease is refused with
 * `NODE_EXISTS`, and the caller picks another.
 */
export async function openLease(requests: Requests, keys: KeyCodec, ttlSeconds: number, timeout: number, id = randomLeaseId()): Promise<Grant> {
  const started = Date.now();
  let sentAt: number | undefined;
  await requests.run(
    'grant a lease',
    async (client, o, n) => {
      sentAt ??= monotonicNow();
      try {
        await client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }, o);
      } catch (error) {
        if (!/lease already exists/.test(String((error as Error).message))) throw error;
        if (n === 0) throw new CoordError('NODE_EXISTS', `lease ${id} exists`);
      }
    },
    'always',
    undefined,
    timeout,
  );
  try {
    const key = keys.sessionKey(id).start;
    await requests.run(
      'put the session key',
      (client, o) => client.kv.put({ key, value: Buffer.alloc(0), lease: id }, o),
      'always',
      undefined,
      Math.max(1, timeout - (Date.now() - started)),
    );
    return { id, sentAt: sentAt ?? monotonicNow() };
  } catch (error) {
    await requests.run('revoke the lease', (client, o) => client.leaseClient.leaseRevoke({ ID: id }, o), 'always', undefined, timeout).catch(() => undefined);
    throw error;
  }
}

/** A random positive 63-bit lease id, in decimal (etcd's ids are positive int64s). */
export function randomLeaseId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 1n || 1n).toString();
}

/** Revokes a lease (its keys go at once), within the operation timeout; never retried. */
export async function revoke(endpoints: Endpoints, leaseId: string, config: ConnectionConfig): Promise<void> {
  const deadline = new Date(Date.now() + config.settings.operationTimeout);
  await endpoints.current.leaseClient.leaseRevoke({ ID: leaseId }, { deadline });
}

/** The lease TTL in whole seconds: the URL's `ttl`, else the session timeout rounded up. */
export function ttlSecondsOf(config: ConnectionConfig): number {
  return config.options.ttlSeconds ?? Math.max(1, Math.ceil(config.settings.sessionTimeout / 1000));
}

