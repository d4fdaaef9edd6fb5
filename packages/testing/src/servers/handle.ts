/**
 * The handles a test holds on real servers: one process ({@link ServerHandle}) or a quorum of
 * them ({@link ClusterHandle}). Both are `AsyncDisposable`, so `await using` stops them.
 */
import type { ServerKind } from './binaries.js';

/** Where a server is in its life. */
export type ServerState = 'starting' | 'running' | 'paused' | 'down' | 'stopped';

/** Options every `start*()` function takes. */
export interface ServerOptions {
  /**
   * How long the server may take to answer a real request, in ms (default 60 000; a JVM on a
   * loaded two-core machine is slow). On timeout the process is killed and the start rejects
   * with a `CoordError` `TIMEOUT` whose message ends with the tail of the server's log.
   */
  readonly startTimeout?: number;
  /** How long a graceful stop may take before SIGKILL, in ms (default 10 000). */
  readonly stopTimeout?: number;
  /** Bytes of output kept for {@link ServerHandle.log} (default 512 KiB). */
  readonly logLimit?: number;
  /** Extra command-line arguments for the server (for ZooKeeper: JVM options). */
  readonly extraArgs?: readonly string[];
}

/** Options of {@link ServerHandle.restart}. */
export interface RestartOptions {
  /**
   * Wait until the server answers a real request (default true). A cluster member cannot
   * answer while its quorum is down: pass false to restart it anyway.
   */
  readonly waitUntilReady?: boolean;
}

/**
 * One running server on loopback, in its own temp directory. Fault injection acts on the
 * real process: `kill()` is SIGKILL, `pause()` is SIGSTOP.
 * @example
 * ```ts
 * await using zk = await startZooKeeper();
 * const coord = await connect(zk.url);
 * await zk.kill();      // crash it
 * await zk.restart();   // same port, same data
 * ```
 */
export interface ServerHandle extends AsyncDisposable {
  /** Which server this is. */
  readonly kind: ServerKind;
  /** A Coord URL for it: `zookeeper://127.0.0.1:PORT`, `etcd://…`, `redis://…`. */
  readonly url: string;
  /** The address it listens on (always loopback). */
  readonly host: string;
  /** The client port. */
  readonly port: number;
  /** Its temp directory (configuration and data); removed by {@link stop}. */
  readonly dataDir: string;
  /** The process id while a process runs (paused included). */
  readonly pid: number | undefined;
  /** Where it is in its life. */
  readonly state: ServerState;
  /** The captured output (stdout and stderr) of every run so far, bounded to the newest bytes. */
  log(): string;
  /**
   * Shuts the server down gracefully (SIGTERM, then SIGKILL after `stopTimeout`) and removes
   * its directory. Final and idempotent; also what `await using` calls.
   */
  stop(): Promise<void>;
  /** SIGKILLs the process now (a crash). Data is kept; {@link restart} brings it back. */
  kill(): Promise<void>;
  /**
   * Stops the process gracefully if it runs, then starts it again on the same port with the
   * same data directory.
   * @throws CoordError `TIMEOUT` if it is not ready within `startTimeout`; `CLOSED` after {@link stop}.
   */
  restart(options?: RestartOptions): Promise<void>;
  /** SIGSTOPs the process: connections stay open, nothing answers (a hung server). */
  pause(): Promise<void>;
  /** SIGCONTs a paused process. */
  resume(): Promise<void>;
}

/**
 * A quorum of servers on loopback (a ZooKeeper ensemble or an etcd cluster).
 * @example
 * ```ts
 * await using cluster = await startEtcdCluster(3);
 * await cluster.kill(await cluster.leader());   // force a leader election
 * ```
 */
export interface ClusterHandle extends AsyncDisposable {
  /** Which server this is. */
  readonly kind: ServerKind;
  /** A Coord URL listing every member: `zookeeper://127.0.0.1:P1,127.0.0.1:P2,…`. */
  readonly url: string;
  /** The members, by index. */
  readonly members: readonly ServerHandle[];
  /**
   * Member `index`.
   * @throws RangeError for an index out of range.
   */
  member(index: number): ServerHandle;
  /** SIGKILLs member `index`. */
  kill(index: number): Promise<void>;
  /** Restarts member `index` (same port and data). */
  restart(index: number, options?: RestartOptions): Promise<void>;
  /** SIGSTOPs member `index`. */
  pause(index: number): Promise<void>;
  /** SIGCONTs member `index`. */
  resume(index: number): Promise<void>;
  /**
   * The index of the current leader, asked of the members that run (ZooKeeper: the `srvr`
   * mode; etcd: the maintenance status). Waits for an election in progress.
   * @throws CoordError `TIMEOUT` if no leader is known within `timeout` ms (default 30 000).
   */
  leader(options?: { readonly timeout?: number }): Promise<number>;
  /** The logs of every member, each under a header line. */
  log(): string;
  /** Stops every member and removes their directories. Idempotent. */
  stop(): Promise<void>;
}
