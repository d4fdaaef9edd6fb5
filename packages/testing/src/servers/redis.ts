/**
 * Redis servers: `redis-server` (Debian's redis-server) with everything on the command line,
 * data in the server's own temp directory. Persistence is an append-only file written before
 * each reply (fsync left to the OS), so `kill()` + `restart()` keeps acknowledged writes, as
 * a real crash of the process (not of the machine) would.
 */
import { findCommand } from './binaries.js';
import type { ServerHandle, ServerOptions } from './handle.js';
import { launchServer } from './launch.js';
import type { Endpoint } from './net.js';
import { freePorts, LOOPBACK } from './ports.js';
import { redisCommand } from './resp.js';
import { makeServerDir, Server, type ServerSpec } from './server.js';

/** Options of {@link startRedis}. */
export interface RedisOptions extends ServerOptions {
  /** Port (default: a free one). */
  readonly port?: number;
  /** The redis-server program (default: `$COORD_TESTING_REDIS_SERVER`, then `redis-server` on PATH). */
  readonly command?: string;
  /** Keep data across restarts in an append-only file (default true). */
  readonly appendOnly?: boolean;
}

function redisArgs(dataDir: string, port: number, options: RedisOptions): string[] {
  return [
    ...['--port', String(port), '--bind', LOOPBACK, '--dir', dataDir],
    ...['--daemonize', 'no', '--protected-mode', 'no', '--logfile', '', '--save', ''],
    // Keep the real command line (it names our directory): the reaper finds orphans by it.
    ...['--set-proc-title', 'no'],
    ...['--appendonly', options.appendOnly === false ? 'no' : 'yes', '--appendfsync', 'no'],
    ...(options.extraArgs ?? []),
  ];
}

function redisSpec(command: string, dataDir: string, port: number, options: RedisOptions): ServerSpec {
  const endpoint = { host: LOOPBACK, port };
  return {
    kind: 'redis',
    port,
    dataDir,
    launch: () => ({ command, args: redisArgs(dataDir, port, options), cwd: dataDir }),
    probe: (signal) => probeRedis(endpoint, dataDir, signal),
  };
}

/** Ready: PING answers PONG (not LOADING), and it is this server (its `dir` is ours). */
async function probeRedis(endpoint: Endpoint, dataDir: string, signal: AbortSignal): Promise<void> {
  const pong = await redisCommand(endpoint, ['PING'], signal);
  if (pong !== 'PONG') throw new Error(`PING answered ${String(pong)}`);
  const dir = await redisCommand(endpoint, ['CONFIG', 'GET', 'dir'], signal);
  if (!Array.isArray(dir) || dir[1] !== dataDir) throw new Error('another server answers on this port');
}

/**
 * Starts a Redis server on a free loopback port, in a fresh temp directory. Resolves once it
 * answers PING.
 * @example
 * ```ts
 * await using redis = await startRedis();
 * await using coord = await connect(redis.url);
 * ```
 * @throws CoordError `UNAVAILABLE` if `redis-server` is missing (naming the Debian package
 *   `redis-server`) or exits while starting; `TIMEOUT` if it does not answer within
 *   `startTimeout`. Both carry the tail of its log.
 */
export async function startRedis(options: RedisOptions = {}): Promise<ServerHandle> {
  const command = findCommand('redis', options.command);
  return launchServer(async () => {
    const port = options.port ?? ((await freePorts(1))[0] as number);
    return new Server(redisSpec(command, makeServerDir('redis'), port, options), options);
  }, options.port !== undefined);
}
