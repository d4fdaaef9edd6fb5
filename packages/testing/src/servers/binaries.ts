/**
 * Where the server programs are, and what to tell the user when one is missing. The servers
 * come from Debian's packages (`zookeeper`, `etcd-server`, `redis-server`); each can be
 * pointed elsewhere with an option or an environment variable.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CoordError } from '@coord/core';

/** The kinds of server this package starts. */
export type ServerKind = 'zookeeper' | 'etcd' | 'redis';

/** The Debian package that provides each kind of server. */
export const DEBIAN_PACKAGES: Readonly<Record<ServerKind, string>> = Object.freeze({
  zookeeper: 'zookeeper',
  etcd: 'etcd-server',
  redis: 'redis-server',
});

/** Environment variables that override where a program is found. */
export const BINARY_ENV = Object.freeze({
  java: 'COORD_TESTING_JAVA',
  zookeeperClasspath: 'COORD_TESTING_ZOOKEEPER_CLASSPATH',
  etcd: 'COORD_TESTING_ETCD',
  redis: 'COORD_TESTING_REDIS_SERVER',
});

/** The Debian location of the ZooKeeper server jar (its manifest lists its dependencies). */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** SLF4J's plain stderr logger: without a binding ZooKeeper logs nothing at all. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

/** How to run a ZooKeeper server. */
export interface ZooKeeperInstall {
  /** The `java` executable. */
  readonly java: string;
  /** Jars and directories for `-cp`. */
  readonly classpath: readonly string[];
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `command` on PATH (or `command` itself if it has a slash). */
function which(command: string): string | undefined {
  if (command.includes('/')) return executable(command) ? command : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir || '.', command);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function missing(kind: ServerKind, what: string, envName: string): CoordError {
  const pkg = DEBIAN_PACKAGES[kind];
  return new CoordError(
    'UNAVAILABLE',
    `@coord/testing: cannot start ${kind}: ${what}. Install the Debian package ${pkg} ` +
      `(sudo apt-get install -y ${pkg}) or set ${envName}.`,
    { retryable: false },
  );
}

/**
 * Finds Java and the ZooKeeper jars.
 * @throws CoordError `UNAVAILABLE` naming the Debian package to install.
 */
export function findZooKeeper(options: { java?: string; classpath?: readonly string[] } = {}): ZooKeeperInstall {
  const javaHome = process.env['JAVA_HOME'];
  const javaName = options.java ?? process.env[BINARY_ENV.java] ?? (javaHome ? join(javaHome, 'bin', 'java') : 'java');
  const java = which(javaName);
  if (java === undefined) throw missing('zookeeper', `no Java runtime (${javaName}) found`, BINARY_ENV.java);
  const fromEnv = process.env[BINARY_ENV.zookeeperClasspath]?.split(delimiter).filter(Boolean);
  const classpath = options.classpath ?? fromEnv;
  if (classpath !== undefined) return { java, classpath };
  if (!existsSync(ZOOKEEPER_JAR)) {
    throw missing('zookeeper', `${ZOOKEEPER_JAR} not found`, BINARY_ENV.zookeeperClasspath);
  }
  return { java, classpath: existsSync(SLF4J_SIMPLE_JAR) ? [ZOOKEEPER_JAR, SLF4J_SIMPLE_JAR] : [ZOOKEEPER_JAR] };
}

/**
 * Finds the `etcd` or `redis-server` program.
 * @throws CoordError `UNAVAILABLE` naming the Debian package to install.
 */
export function findCommand(kind: 'etcd' | 'redis', override?: string): string {
  const envName = kind === 'etcd' ? BINARY_ENV.etcd : BINARY_ENV.redis;
  const name = override ?? process.env[envName] ?? (kind === 'etcd' ? 'etcd' : 'redis-server');
  const found = which(name);
  if (found === undefined) throw missing(kind, `program ${name} not found`, envName);
  return found;
}

/** Why a kind of server cannot be started here, or `undefined` if it can. */
export function missingServer(kind: ServerKind): string | undefined {
  try {
    if (kind === 'zookeeper') findZooKeeper();
    else findCommand(kind);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** True when running under CI (`CI=true` or `CI=1`), where a missing server is a failure. */
export function isCI(): boolean {
  const ci = process.env['CI']?.toLowerCase();
  return ci === 'true' || ci === '1';
}

/**
 * Whether tests that need a `kind` server can run here. Returns false when the server is
 * not installed so the caller can skip visibly — except under CI (`CI=true`), where a
 * missing backend is a failure, never a skip.
 * @example
 * ```ts
 * const describeRedis = serverAvailable('redis') ? describe : describe.skip;
 * describeRedis('my Redis code', () => { ... });
 * ```
 * @throws CoordError `UNAVAILABLE` under CI when the server is missing (names the package).
 */
export function serverAvailable(kind: ServerKind): boolean {
  const reason = missingServer(kind);
  if (reason === undefined) return true;
  if (isCI()) throw new CoordError('UNAVAILABLE', `${reason} (CI=true: a missing backend fails the run)`, { retryable: false });
  return false;
}
