/**
 * Whether the server is fit for the driver, from one `INFO` at connect.
 *
 * Version: RESP3 (a subscribed connection that still runs scripts) and client-side tracking
 * need Redis 6.0 or later.
 *
 * Eviction: whether the server may evict our keys. A node or the namespace counter evicted is silent
 * data loss; a session key evicted ends a session early — and another client could be granted
 * a lock before the holder's heartbeat notices. Every `volatile-*` policy evicts keys with a
 * TTL, which our session keys are, and every `allkeys-*` policy any key. So the only safe
 * configurations are `maxmemory 0` (no limit) or the `noeviction` policy (writes then fail
 * with `OOM`, which the driver reports as `UNAVAILABLE`).
 */
import { CoordError } from '@coord/core';
import type { Connection } from './connection.js';

/** What to do about an unsafe eviction policy. */
export type EvictionCheck = 'warn' | 'fail' | 'ignore';

/** The two fields of `INFO memory` that matter here. */
export interface MemoryPolicy {
  readonly maxmemory: number;
  readonly policy: string;
}

/** The lowest Redis version the driver works with. */
export const MIN_VERSION = 6;

/** The major version in `INFO` (`redis_version:7.0.15`), or undefined if it does not say. */
export function parseMajorVersion(info: string): number | undefined {
  const match = /^redis_version:(\d+)\./m.exec(info);
  return match === null ? undefined : Number(match[1]);
}

/** Parses `INFO`'s memory section; undefined if it lacks the fields (a proxy or a restricted server). */
export function parseMemoryInfo(info: string): MemoryPolicy | undefined {
  const maxmemory = /^maxmemory:(\d+)\r?$/m.exec(info);
  const policy = /^maxmemory_policy:([a-z-]+)\r?$/m.exec(info);
  if (maxmemory === null || policy === null) return undefined;
  return { maxmemory: Number(maxmemory[1]), policy: policy[1] as string };
}

/** Whether a memory policy can evict our keys. */
export function mayEvict(memory: MemoryPolicy): boolean {
  return memory.maxmemory > 0 && memory.policy !== 'noeviction';
}

/**
 * Checks the server at connect (one `INFO`): its version, then its eviction policy, which
 * it warns about or fails on. A server that will not say its policy (INFO refused or
 * unparsable) is let through with a warning.
 * @param warn where a warning goes (default: `process.emitWarning`, code `COORD_REDIS_EVICTION`)
 * @throws CoordError `UNSUPPORTED` for Redis before 6.0; `UNAVAILABLE` with `mode: 'fail'`
 *   when keys may be evicted; `AUTH_FAILED`.
 */
export async function checkServer(
  conn: Connection,
  deadline: number,
  mode: EvictionCheck,
  warn: (message: string) => void = (message) => process.emitWarning(message, { code: 'COORD_REDIS_EVICTION' }),
): Promise<void> {
  let info = '';
  try {
    info = String(await conn.command('INFO', [], deadline));
  } catch (error) {
    if ((error as CoordError).code === 'AUTH_FAILED') throw error;
  }
  const major = parseMajorVersion(info);
  if (major !== undefined && major < MIN_VERSION) {
    throw new CoordError('UNSUPPORTED', `${conn.label}: Redis ${major}.x is too old; the driver needs ${MIN_VERSION}.0 or later`);
  }
  if (mode === 'ignore') return;
  const memory = parseMemoryInfo(info);
  const problem =
    memory === undefined
      ? 'could not read the eviction policy (INFO memory); make sure it is noeviction'
      : mayEvict(memory)
        ? `maxmemory-policy ${memory.policy} with maxmemory ${memory.maxmemory} may evict session keys and nodes; set maxmemory-policy noeviction`
        : undefined;
  if (problem === undefined) return;
  if (mode === 'fail' && memory !== undefined) throw new CoordError('UNAVAILABLE', `${conn.label}: ${problem}`);
  warn(`${conn.label}: ${problem}`);
}
