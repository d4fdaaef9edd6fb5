/**
 * No orphans. Every server process and directory this package creates is registered here and
 * removed, whatever way the test process ends:
 *
 * 1. `exit` and SIGINT/SIGTERM/SIGHUP handlers SIGKILL the servers and delete their
 *    directories synchronously (then the signal is re-raised so the process still dies of it).
 *    Under Jest these never fire — Jest gives each test file its own `process` object — so:
 * 2. a watchdog process (watchdog.ts) holds a pipe from this process; when the pipe closes
 *    (exit, crash, SIGKILL: the kernel closes it in every case) it kills what is registered
 *    and removes the directories;
 * 3. if even the watchdog was killed, the next start sweeps the temp dir: each server
 *    directory holds an owner file, and a directory whose owner process is dead is reaped.
 *
 * Server processes are spawned `detached` (their own process group), so a Ctrl-C meant for
 * the test runner does not reach them behind this package's back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Prefix of every server directory under `os.tmpdir()`. */
export const DIR_PREFIX = 'coord-';
/** The owner file in each server directory. */
export const OWNER_FILE = 'coord-owner.json';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const pids = new Set<number>();
const dirs = new Set<string>();
let watchdog: ChildProcess | undefined;
let installed = false;
let swept = false;

function onExit(): void {
  killAllNow();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  // Only ours: restore the default action and die of the signal, as without us.
  if (process.listenerCount(signal) === 1) {
    uninstall();
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  const script = fileURLToPath(new URL('./watchdog.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(process.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  child.unref();
  (child.stdin as unknown as { unref?(): void } | null)?.unref?.();
  watchdog = child;
  for (const dir of dirs) tell(`dir ${dir}`);
  for (const pid of pids) tell(`pid ${pid}`);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
  watchdog?.stdin?.end();
  watchdog = undefined;
}

function tell(line: string): void {
  watchdog?.stdin?.write(`${line}\n`);
}

function idle(): void {
  if (pids.size === 0 && dirs.size === 0) uninstall();
}

/** Registers a server directory (removed by every cleanup path) and writes its owner file. */
export function trackDir(dir: string): void {
  sweepOnce();
  dirs.add(dir);
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ owner: process.pid }));
  install();
  tell(`dir ${dir}`);
}

/** The directory was removed by its owner. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
  tell(`undir ${dir}`);
  idle();
}

/** Registers a running server process (its own process group leader). */
export function trackProcess(pid: number): void {
  pids.add(pid);
  install();
  tell(`pid ${pid}`);
}

/** The process has exited. */
export function untrackProcess(pid: number): void {
  pids.delete(pid);
  tell(`unpid ${pid}`);
  idle();
}

/** SIGKILLs every registered server and removes every registered directory, synchronously. */
export function killAllNow(): void {
  for (const pid of pids) killGroup(pid);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  pids.clear();
  dirs.clear();
}

/** SIGKILL to a process group, or to the process if it leads none. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The watchdog's pid (for this package's own tests). */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sweepOnce(): void {
  if (swept) return;
  swept = true;
  sweepOrphans();
}

/**
 * Reaps what dead test processes left behind: for every server directory in the temp dir
 * whose owner process no longer runs, kills the processes whose command line names it and
 * removes it. Runs once automatically before the first server starts.
 * @returns the directories removed.
 */
export function sweepOrphans(): string[] {
  const removed: string[] = [];
  const root = tmpdir();
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, entry);
    let owner: unknown;
    try {
      owner = (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { owner?: unknown }).owner;
    } catch {
      continue; // not ours, or being created right now
    }
    if (typeof owner !== 'number' || alive(owner)) continue;
    for (const pid of processesNaming(dir)) killGroup(pid);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    removed.push(dir);
  }
  return removed;
}

/** Processes whose command line contains `text` (empty where /proc does not exist). */
export function processesNaming(text: string): number[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
