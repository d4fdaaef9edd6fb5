/**
 * Whether the server may evict our keys. A node or the namespace counter evicted is silent
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

/** Parses `INFO memory`; undefined if it lacks the fields (a proxy or a restricted server). */
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
 * Checks the server's eviction policy at connect (one `INFO memory`), and warns or fails.
 * A server that will not say (INFO refused or unparsable) is let through with a warning.
 * @param warn where a warning goes (default: `process.emitWarning`, code `COORD_REDIS_EVICTION`)
 * @throws CoordError `UNAVAILABLE` with `mode: 'fail'` when keys may be evicted.
 */
export async function checkEviction(
  conn: Connection,
  deadline: number,
  mode: EvictionCheck,
  warn: (message: string) => void = (message) => process.emitWarning(message, { code: 'COORD_REDIS_EVICTION' }),
): Promise<void> {
  if (mode === 'ignore') return;
  let memory: MemoryPolicy | undefined;
  try {
    const info = await conn.command('INFO', ['memory'], deadline);
    memory = parseMemoryInfo(String(info));
  } catch (error) {
    if ((error as CoordError).code === 'AUTH_FAILED') throw error;
  }
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
