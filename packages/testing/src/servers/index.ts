/**
 * Real ZooKeeper, etcd and Redis servers for tests: single servers and quorums on loopback,
 * with crash, restart, pause and session-expiry injection.
 */
export {
  DEBIAN_PACKAGES,
  BINARY_ENV,
  isCI,
  missingServer,
  serverAvailable,
  type ServerKind,
} from './binaries.js';
export type { ClusterHandle, RestartOptions, ServerHandle, ServerOptions, ServerState } from './handle.js';
export { startZooKeeper, fourLetterWord, type ZooKeeperOptions } from './zookeeper.js';
export { startZooKeeperEnsemble, type ZooKeeperEnsembleOptions } from './zookeeper-ensemble.js';
export { startEtcd, startEtcdCluster, type EtcdOptions } from './etcd.js';
export { startRedis, type RedisOptions } from './redis.js';
export {
  deleteRedisKey,
  expireZooKeeperSession,
  parseZooKeeperSessionId,
  revokeEtcdLease,
  type FaultOptions,
  type RedisFaultOptions,
} from './faults.js';
export type { ServerTarget } from './targets.js';
export { sweepOrphans } from './reaper.js';
export { describeLeaks, serverStats, type ServerStats } from './stats.js';
export { expireDriverSession, type EtcdRenewalHook, type RedisSessionKey, type ZooKeeperSessionSecret } from './driver-faults.js';
