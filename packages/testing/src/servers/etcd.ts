/**
 * etcd servers and clusters: the `etcd` program (Debian's etcd-server) with everything on
 * the command line, data in the server's own temp directory. A member is ready when a
 * linearizable read succeeds through it (so a cluster member is ready only with a quorum).
 */
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { findCommand } from './binaries.js';
import { Cluster } from './cluster.js';
import { base64, etcdCall, type EtcdMemberList, type EtcdStatus } from './etcd-http.js';
import type { ClusterHandle, ServerHandle, ServerOptions } from './handle.js';
import { launchGroup, launchServer } from './launch.js';
import type { Endpoint } from './net.js';
import { freePorts, LOOPBACK } from './ports.js';
import { makeServerDir, Server, type ServerSpec } from './server.js';

/** Options of {@link startEtcd} and {@link startEtcdCluster}. */
export interface EtcdOptions extends ServerOptions {
  /** Client port of a single server (default: a free one). Clusters always pick free ports. */
  readonly port?: number;
  /** The etcd program (default: `$COORD_TESTING_ETCD`, then `etcd` on PATH). */
  readonly command?: string;
  /** Raft heartbeat, ms (default 100, etcd's own). */
  readonly heartbeatInterval?: number;
  /** Raft election timeout, ms (default 1000, etcd's own). */
  readonly electionTimeout?: number;
}

/** One member's place: its name and ports, and the whole cluster's peer list. */
interface Seat {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly initialCluster: string;
  readonly token: string;
}

const http = (port: number): string => `http://${LOOPBACK}:${port}`;

function etcdArgs(dataDir: string, seat: Seat, options: EtcdOptions): string[] {
  return [
    ...['--name', seat.name, '--data-dir', join(dataDir, 'data')],
    ...['--listen-client-urls', http(seat.clientPort), '--advertise-client-urls', http(seat.clientPort)],
    ...['--listen-peer-urls', http(seat.peerPort), '--initial-advertise-peer-urls', http(seat.peerPort)],
    ...['--initial-cluster', seat.initialCluster, '--initial-cluster-state', 'new'],
    ...['--initial-cluster-token', seat.token],
    ...['--heartbeat-interval', String(options.heartbeatInterval ?? 100)],
    ...['--election-timeout', String(options.electionTimeout ?? 1000)],
    ...['--logger', 'zap', '--log-outputs', 'stderr'],
    ...(options.extraArgs ?? []),
  ];
}

function etcdSpec(command: string, dataDir: string, seat: Seat, options: EtcdOptions): ServerSpec {
  const endpoint = { host: LOOPBACK, port: seat.clientPort };
  return {
    kind: 'etcd',
    port: seat.clientPort,
    dataDir,
    launch: () => ({ command, args: etcdArgs(dataDir, seat, options), cwd: dataDir }),
    probe: (signal) => probeEtcd(endpoint, seat.name, signal),
  };
}

/** Ready: a linearizable read succeeds (needs a quorum), and it is this member (by name). */
async function probeEtcd(endpoint: Endpoint, name: string, signal: AbortSignal): Promise<void> {
  await etcdCall(endpoint, '/v3/kv/range', { key: base64('coord-testing/ready') }, signal);
  const list = await etcdCall<EtcdMemberList>(endpoint, '/v3/cluster/member/list', {}, signal);
  const self = list.members.find((member) => member.name === name);
  if (!self?.clientURLs?.includes(http(endpoint.port))) throw new Error('another server answers on this port');
}

/** The member that reports itself as leader. */
async function etcdLeader(running: readonly Server[], signal: AbortSignal): Promise<Server | undefined> {
  const statuses = await Promise.all(
    running.map((member) =>
      etcdCall<EtcdStatus>({ host: member.host, port: member.port }, '/v3/maintenance/status', {}, signal).catch(
        () => undefined,
      ),
    ),
  );
  return running[statuses.findIndex((status) => status?.leader !== undefined && status.leader === status.header.member_id)];
}

/** Seats for `size` members on fresh ports; names are the (unique) directory names. */
async function seats(dirs: readonly string[]): Promise<Seat[]> {
  const ports = await freePorts(2 * dirs.length);
  const token = `coord-${randomBytes(6).toString('hex')}`;
  const peers = dirs.map((dir, i) => `${basename(dir)}=${http(ports[2 * i + 1] as number)}`).join(',');
  return dirs.map((dir, i) => ({
    name: basename(dir),
    clientPort: ports[2 * i] as number,
    peerPort: ports[2 * i + 1] as number,
    initialCluster: peers,
    token,
  }));
}

/**
 * Starts a single-member etcd on free loopback ports, in a fresh temp directory. Resolves
 * once a linearizable read succeeds.
 * @example
 * ```ts
 * await using etcd = await startEtcd();
 * await using coord = await connect(etcd.url);
 * ```
 * @throws CoordError `UNAVAILABLE` if `etcd` is missing (naming the Debian package
 *   `etcd-server`) or exits while starting; `TIMEOUT` if it does not answer within
 *   `startTimeout`. Both carry the tail of its log.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<ServerHandle> {
  const command = findCommand('etcd', options.command);
  return launchServer(async () => {
    const dir = makeServerDir('etcd');
    const [seat] = await seats([dir]);
    const fixed = options.port === undefined ? (seat as Seat) : { ...(seat as Seat), clientPort: options.port };
    return new Server(etcdSpec(command, dir, fixed, options), options);
  }, options.port !== undefined);
}

/**
 * Starts an etcd cluster of `size` members (default 3) on loopback. Resolves once every
 * member serves linearizable reads.
 * @example
 * ```ts
 * await using cluster = await startEtcdCluster(3);
 * await cluster.kill(0);
 * await cluster.kill(1); // no quorum: writes now fail
 * ```
 * @throws CoordError `UNAVAILABLE` / `TIMEOUT` as {@link startEtcd}.
 */
export async function startEtcdCluster(size = 3, options: Omit<EtcdOptions, 'port'> = {}): Promise<ClusterHandle> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`@coord/testing: bad cluster size ${size}`);
  const command = findCommand('etcd', options.command);
  const members = await launchGroup(async () => {
    const dirs = Array.from({ length: size }, () => makeServerDir('etcd'));
    return (await seats(dirs)).map((seat, i) => new Server(etcdSpec(command, dirs[i] as string, seat, options), options));
  });
  return new Cluster('etcd', members, etcdLeader);
}
