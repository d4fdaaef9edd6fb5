/**
 * A ZooKeeper ensemble on loopback: `size` servers, each with a client, a quorum and an
 * election port, all started together. The leader is whoever `srvr` says is `leader`.
 */
import { findZooKeeper } from './binaries.js';
import { Cluster } from './cluster.js';
import type { ClusterHandle } from './handle.js';
import { launchGroup } from './launch.js';
import { exchange } from './net.js';
import { freePorts, LOOPBACK } from './ports.js';
import { makeServerDir, Server } from './server.js';
import { zooKeeperMode, zooKeeperSpec, type ZooKeeperOptions } from './zookeeper.js';

/** Options of {@link startZooKeeperEnsemble} (a fixed `port` is ignored: members take free ports). */
export type ZooKeeperEnsembleOptions = Omit<ZooKeeperOptions, 'port'>;

/** The member whose `srvr` says `leader`, asked of every running member. */
async function zooKeeperLeader(running: readonly Server[], signal: AbortSignal): Promise<Server | undefined> {
  const modes = await Promise.all(
    running.map((member) =>
      exchange({ host: member.host, port: member.port }, 'srvr', signal).then(zooKeeperMode, () => undefined),
    ),
  );
  return running[modes.findIndex((mode) => mode === 'leader' || mode === 'standalone')];
}

/**
 * Starts a ZooKeeper ensemble of `size` members (default 3) on loopback. Resolves once every
 * member serves (a leader was elected and the followers synced).
 * @example
 * ```ts
 * await using ensemble = await startZooKeeperEnsemble(3);
 * await ensemble.kill(await ensemble.leader()); // the others elect a new leader
 * ```
 * @throws CoordError `UNAVAILABLE` if ZooKeeper is not installed (naming the Debian package)
 *   or a member exits while starting; `TIMEOUT` if the ensemble does not form within
 *   `startTimeout`.
 */
export async function startZooKeeperEnsemble(size = 3, options: ZooKeeperEnsembleOptions = {}): Promise<ClusterHandle> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`@coord/testing: bad ensemble size ${size}`);
  const install = findZooKeeper(options);
  const members = await launchGroup(async () => {
    const ports = await freePorts(3 * size);
    const servers = Array.from({ length: size }, (_, i) => {
      const [, quorum, election] = ports.slice(3 * i, 3 * i + 3);
      return `server.${i + 1}=${LOOPBACK}:${quorum}:${election}`;
    });
    return Array.from({ length: size }, (_, i) => {
      const spec = zooKeeperSpec(install, makeServerDir('zookeeper'), ports[3 * i] as number, options, {
        id: i + 1,
        servers,
      });
      return new Server(spec, options);
    });
  });
  return new Cluster('zookeeper', members, zooKeeperLeader);
}
