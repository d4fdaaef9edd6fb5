// Shared by @coord/testing's own tests.
import { describe } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { eventually, serverAvailable, type ServerKind } from '../src/index.js';
import { findZooKeeper } from '../src/servers/binaries.js';
import { withDeadline } from '../src/servers/net.js';
import { redisCommand } from '../src/servers/resp.js';

/** `describe` when the server is installed; `describe.skip` otherwise (a failure under CI=true). */
export function describeWith(kind: ServerKind): typeof describe.skip {
  return serverAvailable(kind) ? describe : describe.skip;
}

/** True while `pid` runs (a zombie counts as gone). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits until every pid is gone. */
export async function allGone(pids: readonly number[], what: string, ms = 10_000): Promise<void> {
  await eventually(() => pids.every((pid) => !running(pid)), what, ms, 50);
}

/** Runs `fn` with a deadline; resolves to the error it failed with (or throws if it succeeded). */
export async function failsWithin(ms: number, fn: (signal: AbortSignal) => Promise<unknown>): Promise<Error> {
  try {
    await withDeadline(ms, fn);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

/** PING through the package's own RESP client. */
export function ping(port: number, signal: AbortSignal): Promise<unknown> {
  return redisCommand({ host: '127.0.0.1', port }, ['PING'], signal);
}

/**
 * Runs ZooKeeper's own command-line client (the Java `ZooKeeperMain`) with one command;
 * resolves to its stdout + stderr and exit code.
 */
export function zkCli(port: number, ...command: string[]): Promise<{ output: string; code: number }> {
  const install = findZooKeeper();
  const quiet = '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn';
  const jvm = ['-XX:TieredStopAtLevel=1', '-XX:-UsePerfData', quiet, '-cp', install.classpath.join(':')];
  const args = [...jvm, 'org.apache.zookeeper.ZooKeeperMain'];
  return new Promise((resolve) => {
    execFile(install.java, [...args, '-server', `127.0.0.1:${port}`, ...command], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ output: `${stdout}${stderr}`, code: typeof error?.code === 'number' ? error.code : error ? -1 : 0 });
    });
  });
}
