/**
 * What clients left on a server: sessions, watches and session-bound data, read from the
 * server's own accounting. After every client of a test has closed, all should be zero —
 * the conformance suite fails a test that leaks any of them.
 */
import { CoordError } from '@coord/core';
import { etcdCall, etcdMetric } from './etcd-http.js';
import type { ClusterHandle, ServerHandle } from './handle.js';
import { exchange, withDeadline, type Endpoint } from './net.js';
import { redisCommand } from './resp.js';

/** Client-side state a server holds. */
export interface ServerStats {
  /**
   * Open client sessions: ZooKeeper client connections, etcd leases, Redis client
   * connections (the connection asking is not counted).
   */
  readonly sessions: number;
  /** Registered watches: ZooKeeper watches, etcd watchers, Redis pub/sub channels and patterns. */
  readonly watches: number;
  /** Session-bound data: ZooKeeper ephemeral nodes, etcd keys attached to a lease; Redis has none of its own. */
  readonly ephemeralNodes: number | undefined;
}

const TIMEOUT = 5_000;

function endpoints(target: ServerHandle | ClusterHandle): Endpoint[] {
  const members = 'members' in target ? target.members : [target];
  return members.filter((m) => m.state === 'running').map((m) => ({ host: m.host, port: m.port }));
}

function mntrValue(mntr: string, key: string): number {
  const match = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(mntr);
  if (match === null) throw new Error(`zookeeper: mntr has no ${key}`);
  return Number(match[1]);
}

async function zooKeeperStats(members: Endpoint[], signal: AbortSignal): Promise<ServerStats> {
  const mntrs = await Promise.all(members.map((endpoint) => exchange(endpoint, 'mntr', signal)));
  const sum = (key: string, minus = 0): number => mntrs.reduce((total, mntr) => total + mntrValue(mntr, key) - minus, 0);
  return {
    sessions: sum('zk_num_alive_connections', 1),
    watches: sum('zk_watch_count'),
    // Every member holds the whole tree: the count is the same everywhere once replicated.
    ephemeralNodes: Math.max(...mntrs.map((mntr) => mntrValue(mntr, 'zk_ephemerals_count'))),
  };
}

interface LeaseList {
  readonly leases?: readonly { readonly ID: string }[];
}

async function etcdStats(members: Endpoint[], signal: AbortSignal): Promise<ServerStats> {
  const first = members[0] as Endpoint;
  const { leases = [] } = await etcdCall<LeaseList>(first, '/v3/lease/leases', {}, signal);
  const keys = await Promise.all(
    leases.map((lease) =>
      etcdCall<{ keys?: readonly string[] }>(first, '/v3/lease/timetolive', { ID: lease.ID, keys: true }, signal),
    ),
  );
  const watchers = await Promise.all(members.map((m) => etcdMetric(m, 'etcd_debugging_mvcc_watcher_total', signal)));
  return {
    sessions: leases.length,
    watches: watchers.reduce((a, b) => a + b, 0),
    ephemeralNodes: keys.reduce((total, answer) => total + (answer.keys?.length ?? 0), 0),
  };
}

async function redisStats(members: Endpoint[], signal: AbortSignal): Promise<ServerStats> {
  const endpoint = members[0] as Endpoint;
  const clients = String(await redisCommand(endpoint, ['CLIENT', 'LIST'], signal)).trim().split('\n');
  const channels = await redisCommand(endpoint, ['PUBSUB', 'CHANNELS'], signal);
  const patterns = await redisCommand(endpoint, ['PUBSUB', 'NUMPAT'], signal);
  return {
    sessions: clients.length - 1,
    watches: (Array.isArray(channels) ? channels.length : 0) + Number(patterns),
    ephemeralNodes: undefined,
  };
}

/**
 * Reads what clients left on a server or cluster (its running members).
 * @example `expect(await serverStats(zk)).toMatchObject({ sessions: 0, watches: 0, ephemeralNodes: 0 });`
 * @throws CoordError `UNAVAILABLE` if no member runs or a member does not answer in 5 s.
 */
export async function serverStats(target: ServerHandle | ClusterHandle): Promise<ServerStats> {
  const members = endpoints(target);
  if (members.length === 0) throw new CoordError('UNAVAILABLE', `@coord/testing: no running ${target.kind} member`);
  try {
    return await withDeadline(TIMEOUT, (signal) => {
      if (target.kind === 'zookeeper') return zooKeeperStats(members, signal);
      if (target.kind === 'etcd') return etcdStats(members, signal);
      return redisStats(members, signal);
    });
  } catch (error) {
    throw new CoordError('UNAVAILABLE', `@coord/testing: cannot read ${target.kind} stats: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Describes what a server still holds for clients, for a leak check after every client
 * closed: e.g. `['2 open session(s)', '1 watch(es)']`; empty when clean.
 */
export function describeLeaks(stats: ServerStats): string[] {
  const leaks: string[] = [];
  if (stats.sessions > 0) leaks.push(`${stats.sessions} open session(s)`);
  if (stats.watches > 0) leaks.push(`${stats.watches} armed watch(es)`);
  if ((stats.ephemeralNodes ?? 0) > 0) leaks.push(`${stats.ephemeralNodes} ephemeral node(s)`);
  return leaks;
}
