/**
 * The watchdog: a tiny Node process that outlives a crashed test process just long enough to
 * clean up after it. The parent (see reaper.ts) starts it with a pipe on its stdin and writes
 * one line per change: `dir <path>` / `undir <path>` for server directories and `pid <n>` /
 * `unpid <n>` for server processes. When stdin ends, the parent is gone — exited, crashed or
 * SIGKILLed, the kernel closes the pipe in every case — so the watchdog kills every process
 * still registered or whose command line names a registered directory, removes those
 * directories, and exits. It imports nothing but Node built-ins so it starts fast.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';

const dirs = new Set<string>();
const pids = new Set<number>();
const HAS_PROC = existsSync('/proc/self/cmdline');

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Processes to kill: registered ones still running one of our servers, and any naming a directory. */
function victims(): Set<number> {
  const found = new Set<number>();
  if (!HAS_PROC) return new Set(pids);
  const mine = (line: string): boolean => [...dirs].some((dir) => line.includes(dir));
  for (const pid of pids) if (mine(commandLine(pid))) found.add(pid);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && mine(commandLine(pid))) found.add(pid);
  }
  return found;
}

function killHard(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL'); // servers lead their own process group
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(HAS_PROC ? readFileSync(`/proc/${pid}/status`, 'utf8') : '');
  } catch {
    return false;
  }
}

async function reap(): Promise<void> {
  const doomed = victims();
  for (const pid of doomed) killHard(pid);
  for (let i = 0; i < 50 && [...doomed].some(alive); i += 1) await new Promise((r) => setTimeout(r, 50));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  process.exit(0);
}

function command(line: string): void {
  const space = line.indexOf(' ');
  const verb = line.slice(0, space);
  const arg = line.slice(space + 1);
  if (verb === 'dir') dirs.add(arg);
  else if (verb === 'undir') dirs.delete(arg);
  else if (verb === 'pid') pids.add(Number(arg));
  else if (verb === 'unpid') pids.delete(Number(arg));
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  let newline: number;
  while ((newline = pending.indexOf('\n')) >= 0) {
    command(pending.slice(0, newline));
    pending = pending.slice(newline + 1);
  }
});
process.stdin.on('end', () => void reap());
process.stdin.on('error', () => void reap());
// A terminal's Ctrl-C or hang-up reaches the whole foreground group: outlive the parent anyway.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('SIGTERM', () => void reap());
