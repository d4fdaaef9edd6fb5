/**
 * The paused side of a process-pause case, in one of two modes:
 * - **child process** (every backend a second process can reach): a real child runs
 *   `child.js`; the pause is `SIGSTOP` … `SIGCONT`, so the child's event loop, sockets and
 *   native handles all stop mid-flight, as in a long GC pause or a stopped container;
 * - **frozen loop** (memory://, which lives in one process): the test's own event loop is
 *   blocked with `Atomics.wait` for the pause, so every timer and callback of the paused
 *   client (and of the store) runs late, all at once, on resume.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Coordinator } from 'coord';
import { monotonicNow, sleep } from '@coord/core';
import { PausedClient, type HeldTokens, type PausePaths, type PauseReport } from './paused-client.js';

/** How the paused side ended: its exit code and signal (in-process: always `0`, `null`). */
export interface Ending {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The client to pause, whichever mode runs it. */
export interface PausedSide {
  /** Whether the others can act while it is paused (a child process; not a frozen loop). */
  readonly othersRunDuringPause: boolean;
  /** Its tokens once it holds everything. */
  held(): Promise<HeldTokens>;
  /**
   * Pauses it for at least `minMs`; in child-process mode also until `until()` resolves (at
   * most `maxMs`), so the others can be seen taking over while it is stopped.
   */
  pause(minMs: number, until?: () => Promise<unknown>, maxMs?: number): Promise<void>;
  /** After the pause: what it saw, and what releasing everything gave. */
  report(kind: 'long' | 'short'): Promise<PauseReport>;
  /** Ends it (closing its coordinator) and tells how it ended. */
  end(): Promise<Ending>;
  /** Kills it if it is still running (cleanup after a failed case). */
  dispose(): void;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** A paused side in a child process connected to `url`. */
export function childSide(url: string, sessionTimeout: number, paths: PausePaths): PausedSide {
  const child = spawn(process.execPath, [CHILD, url, String(sessionTimeout), JSON.stringify(paths)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = messages(child);
  const ended = new Promise<Ending>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const next = async <K extends 'held' | 'report'>(key: K): Promise<unknown> => {
    const line = await Promise.race([lines.next(), ended.then((how) => ({ ended: how }))]);
    if ('ended' in line || line.done === true) {
      throw new Error(`the paused child ended before sending "${key}" (${JSON.stringify(await ended)}); stderr: ${stderr}`);
    }
    const value = (line.value as Record<string, unknown>)[key];
    if (value === undefined) throw new Error(`the paused child sent ${JSON.stringify(line.value)}, not "${key}"`);
    return value;
  };
  return {
    othersRunDuringPause: true,
    held: async () => (await next('held')) as HeldTokens,
    async pause(minMs, until, maxMs = minMs) {
      const start = monotonicNow();
      const stop = new AbortController();
      child.kill('SIGSTOP');
      try {
        await sleep(minMs);
        const limit = sleep(Math.max(0, maxMs - (monotonicNow() - start)), stop.signal).catch(() => undefined);
        if (until !== undefined) await Promise.race([until(), limit]);
      } finally {
        stop.abort();
        child.kill('SIGCONT');
      }
    },
    async report(kind) {
      child.stdin?.write(`${kind}\n`);
      return (await next('report')) as PauseReport;
    },
    async end() {
      child.stdin?.end('exit\n');
      const how = await ended;
      if (how.code !== 0) throw new Error(`the paused child ended with ${JSON.stringify(how)}; stderr: ${stderr}`);
      return how;
    },
    dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A paused side in this process, on `coord` (memory://): the pause freezes this event loop. */
export function inProcessSide(coord: Coordinator, paths: PausePaths): PausedSide {
  const client = new PausedClient(coord, paths);
  const holding = client.hold();
  return {
    othersRunDuringPause: false,
    held: () => holding,
    async pause(minMs) {
      // Blocks the whole thread, as SIGSTOP would: no timer, no callback runs meanwhile.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, minMs);
    },
    report: (kind) => (kind === 'long' ? client.afterLongPause() : client.afterShortPause()),
    async end() {
      await coord.close();
      return { code: 0, signal: null };
    },
    dispose() {},
  };
}

/** The child's stdout as parsed JSON lines. */
function messages(child: ChildProcess): AsyncIterator<unknown> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error('the paused child has no stdout');
  const lines = createInterface({ input: stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      for (;;) {
        const line = await lines.next();
        if (line.done === true) return line;
        const text = String(line.value).trim();
        if (text.startsWith('{')) return { done: false, value: JSON.parse(text) as unknown };
      }
    },
  };
}
