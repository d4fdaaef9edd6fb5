/**
 * One run of a server program: spawned in its own process group, output captured into the
 * handle's log, registered with the reaper for as long as it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { LogBuffer } from './log-buffer.js';
import { killGroup, trackProcess, untrackProcess } from './reaper.js';

/** What to run. */
export interface LaunchCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Working directory (the server's directory). */
  readonly cwd: string;
}

/** How a run ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  readonly error?: Error;
}

/** `COORD_TESTING_LOGS=1` mirrors every server's output to stderr, live. */
const MIRROR = process.env['COORD_TESTING_LOGS'] === '1';

/** A running (or finished) server process. */
export class ServerProcess {
  readonly #child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  readonly #exitController = new AbortController();
  #exit: ExitInfo | undefined;

  /** Spawns `launch`, appending its output to `log` (lines prefixed by `label` when mirrored). */
  constructor(launch: LaunchCommand, log: LogBuffer, label: string) {
    this.#child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = this.#child.pid;
    if (pid !== undefined) trackProcess(pid);
    const capture = (chunk: Buffer): void => {
      log.append(chunk);
      if (MIRROR) process.stderr.write(`[${label}] ${chunk.toString('utf8')}`);
    };
    this.#child.stdout?.on('data', capture);
    this.#child.stderr?.on('data', capture);
    this.exited = new Promise((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.#exit !== undefined) return;
        this.#exit = info;
        if (pid !== undefined) untrackProcess(pid);
        this.#exitController.abort(new Error(`the server ${ServerProcess.describe(info)}`));
        resolve(info);
      };
      this.#child.once('error', (error) => done({ code: null, signal: null, error }));
      this.#child.once('exit', (code, signal) => done({ code, signal }));
    });
    // A forgotten server must not keep the test process alive: the reaper kills it at exit.
    this.#child.unref();
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      (stream as unknown as { unref?(): void } | null)?.unref?.();
    }
  }

  /** The process id (undefined if the spawn failed). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Aborted when the process exits (to cut short whatever waits on it). */
  get exitSignal(): AbortSignal {
    return this.#exitController.signal;
  }

  /** How it ended, once it has. */
  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Sends `signal` to the process (not its group: SIGSTOP/SIGCONT act on the server alone). */
  signal(signal: NodeJS.Signals): void {
    if (this.#exit === undefined && this.#child.pid !== undefined) {
      try {
        process.kill(this.#child.pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  /** SIGKILLs the process group and waits for the exit. */
  async kill(): Promise<ExitInfo> {
    this.#child.ref(); // waiting for the exit must keep the event loop alive
    if (this.#exit === undefined && this.#child.pid !== undefined) killGroup(this.#child.pid);
    return this.exited;
  }

  /**
   * Graceful shutdown: SIGCONT (a paused process cannot handle SIGTERM), SIGTERM, and SIGKILL
   * if it has not exited after `graceMs`.
   */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.#child.ref();
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    const first = await Promise.race([this.exited, escalate]);
    clearTimeout(timer);
    return first ?? this.kill();
  }

  /** Describes how it ended, for messages. */
  static describe(info: ExitInfo): string {
    if (info.error !== undefined) return `could not be started (${info.error.message})`;
    return info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
  }
}
