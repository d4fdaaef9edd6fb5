/**
 * ZooKeeper servers: Java run directly on Debian's jars (no wrapper scripts, no system
 * config), with a generated zoo.cfg in the server's own temp directory.
 *
 * Tuned for tests: a short tick (sessions can be as short as two ticks and expire promptly),
 * every 4-letter word enabled, no admin HTTP server, no fsync, and a JVM that starts fast
 * (client compiler only, serial GC, small heap, no perf-data file in /tmp).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findZooKeeper, type ZooKeeperInstall } from './binaries.js';
import type { ServerHandle, ServerOptions } from './handle.js';
import { launchServer } from './launch.js';
import { exchange, withDeadline, type Endpoint } from './net.js';
import { freePorts, LOOPBACK } from './ports.js';
import { endpointsOf, type ServerTarget } from './targets.js';
import { makeServerDir, Server, type ServerSpec } from './server.js';

/** Options of {@link startZooKeeper} and {@link startZooKeeperEnsemble}. */
export interface ZooKeeperOptions extends ServerOptions {
  /** Client port (default: a free one). Ensembles always pick free ports. */
  readonly port?: number;
  /** ZooKeeper's tick, ms (default 200). Sessions expire on tick boundaries. */
  readonly tickTime?: number;
  /** Smallest session timeout granted, ms (default 2 × tickTime, ZooKeeper's own default). */
  readonly minSessionTimeout?: number;
  /** Largest session timeout granted, ms (default 60 000). */
  readonly maxSessionTimeout?: number;
  /** The `java` executable (default: `$COORD_TESTING_JAVA`, `$JAVA_HOME/bin/java`, `java`). */
  readonly java?: string;
  /** Classpath (default: Debian's `/usr/share/java/zookeeper.jar` and an SLF4J binding). */
  readonly classpath?: readonly string[];
  /** More zoo.cfg entries (they override the defaults). */
  readonly config?: Readonly<Record<string, string | number>>;
}

/** A member's place in an ensemble. */
export interface EnsembleSeat {
  /** ZooKeeper's `myid` (1-based). */
  readonly id: number;
  /** `server.N` lines for every member. */
  readonly servers: readonly string[];
}

const JVM_FLAGS = [
  '-Xshare:auto', // the JDK's class-data archive: faster class loading
  '-Xms32m',
  '-Xmx256m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData', // no /tmp/hsperfdata_<user>/<pid> left behind by a SIGKILL
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.net.preferIPv4Stack=true',
  '-Dzookeeper.forceSync=no',
  '-Dzookeeper.cnxTimeout=2000',
  '-Dzookeeper.jmx.log4j.disable=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
  '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
];
const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

/** The zoo.cfg of one server. */
export function zooCfg(dataDir: string, port: number, options: ZooKeeperOptions, seat?: EnsembleSeat): string {
  const tickTime = options.tickTime ?? 200;
  const entries: Record<string, string | number> = {
    tickTime,
    initLimit: 50, // ticks for followers to sync at start: generous for JVMs on a loaded machine
    syncLimit: 10, // ticks before a silent follower/leader is dropped (2 s at the default tick)
    dataDir: join(dataDir, 'data'),
    clientPort: port,
    clientPortAddress: LOOPBACK,
    maxClientCnxns: 0,
    minSessionTimeout: options.minSessionTimeout ?? 2 * tickTime,
    maxSessionTimeout: options.maxSessionTimeout ?? 60_000,
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': '*',
    'autopurge.purgeInterval': 0,
    ...options.config,
  };
  const lines = Object.entries(entries).map(([key, value]) => `${key}=${value}`);
  return [...lines, ...(seat?.servers ?? [])].join('\n') + '\n';
}

/** The spec of one ZooKeeper server (standalone, or member `seat` of an ensemble). */
export function zooKeeperSpec(
  install: ZooKeeperInstall,
  dataDir: string,
  port: number,
  options: ZooKeeperOptions,
  seat?: EnsembleSeat,
): ServerSpec {
  mkdirSync(join(dataDir, 'data'));
  if (seat !== undefined) writeFileSync(join(dataDir, 'data', 'myid'), `${seat.id}\n`);
  const cfg = join(dataDir, 'zoo.cfg');
  writeFileSync(cfg, zooCfg(dataDir, port, options, seat));
  const endpoint = { host: LOOPBACK, port };
  return {
    kind: 'zookeeper',
    port,
    dataDir,
    launch: () => ({
      command: install.java,
      args: [...JVM_FLAGS, `-Djava.io.tmpdir=${dataDir}`, ...(options.extraArgs ?? []), '-cp', install.classpath.join(':'), MAIN_CLASS, cfg],
      cwd: dataDir,
    }),
    probe: (signal) => probeZooKeeper(endpoint, dataDir, signal),
  };
}

/** Ready: serving (`srvr` reports a mode), and it is this server (`conf` names our data dir). */
async function probeZooKeeper(endpoint: Endpoint, dataDir: string, signal: AbortSignal): Promise<void> {
  const mode = zooKeeperMode(await exchange(endpoint, 'srvr', signal));
  if (mode === undefined) throw new Error('srvr: not serving yet');
  const conf = await exchange(endpoint, 'conf', signal);
  if (!conf.includes(`dataDir=${join(dataDir, 'data')}`)) throw new Error('another server answers on this port');
}

/** The `Mode:` of a `srvr` answer (`standalone`, `leader`, `follower`, `observer`), if serving. */
export function zooKeeperMode(srvr: string): string | undefined {
  return /^Mode: (\w+)/m.exec(srvr)?.[1];
}

/**
 * Sends a 4-letter word (`srvr`, `mntr`, `cons`, `dump`, …) to the first server of `target`
 * and returns the answer.
 * @example `const mntr = await fourLetterWord(zk, 'mntr');`
 * @throws Error if the server cannot be reached within `timeout` ms (default 5 000).
 */
export function fourLetterWord(target: ServerTarget, word: string, options: { readonly timeout?: number } = {}): Promise<string> {
  const [endpoint] = endpointsOf(target);
  return withDeadline(options.timeout ?? 5_000, (signal) => exchange(endpoint as Endpoint, word, signal));
}

/**
 * Starts a standalone ZooKeeper server on a free loopback port, in a fresh temp directory.
 * Resolves once it answers `srvr` as serving.
 * @example
 * ```ts
 * await using zk = await startZooKeeper();
 * await using coord = await connect(zk.url);
 * ```
 * @throws CoordError `UNAVAILABLE` if Java or the jars are missing (naming the Debian package
 *   `zookeeper`) or the server exits while starting; `TIMEOUT` if it does not answer within
 *   `startTimeout`. Both carry the tail of the server's log.
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ServerHandle> {
  const install = findZooKeeper(options);
  return launchServer(async () => {
    const port = options.port ?? (await freePorts(1))[0] as number;
    return new Server(zooKeeperSpec(install, makeServerDir('zookeeper'), port, options), options);
  }, options.port !== undefined);
}
