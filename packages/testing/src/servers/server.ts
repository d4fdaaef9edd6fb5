/**
 * The one {@link ServerHandle} implementation. Each kind of server (zookeeper.ts, etcd.ts,
 * redis.ts) supplies a {@link ServerSpec}: how to launch it and how to ask it a real question;
 * this class does the rest — readiness within a deadline, graceful stop, crash, restart on
 * the same port and data, pause, logs, cleanup.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordError, sleep, type ErrorCode } from '@coord/core';
import type { ServerKind } from './binaries.js';
import type { RestartOptions, ServerHandle, ServerOptions, ServerState } from './handle.js';
import { LogBuffer } from './log-buffer.js';
import { LOOPBACK } from './ports.js';
import { ServerProcess, type LaunchCommand } from './process.js';
import { DIR_PREFIX, trackDir, untrackDir } from './reaper.js';

/** What a kind of server provides. */
export interface ServerSpec {
  readonly kind: ServerKind;
  /** The client port. */
  readonly port: number;
  /** The server's own directory (made by {@link makeServerDir}). */
  readonly dataDir: string;
  /** The command line of one run. */
  launch(): LaunchCommand;
  /**
   * Resolves once THIS server (not some other process on the same port) answers a real
   * request; rejects otherwise. Must give up when `signal` aborts.
   */
  probe(signal: AbortSignal): Promise<void>;
}

const DEFAULT_START_TIMEOUT = 60_000;
const DEFAULT_STOP_TIMEOUT = 10_000;
const PROBE_TIMEOUT = 2_000;
const PROBE_INTERVAL = 50;
const HAS_PROC = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** A fresh directory `coord-<kind>-XXXXXX` in the temp dir, registered for cleanup. */
export function makeServerDir(kind: ServerKind): string {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), `${DIR_PREFIX}${kind}-`));
  trackDir(dir);
  return dir;
}

/** True if a failed start's log says a port was taken (the caller may retry on other ports). */
export function addressInUse(log: string): boolean {
  return /address already in use|BindException|EADDRINUSE/i.test(log);
}

/** The process state letter from /proc (e.g. 'T' stopped), or undefined. */
function procState(pid: number): string | undefined {
  try {
    return /\)\s+(\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** A server process and everything around it. */
export class Server implements ServerHandle {
  readonly #spec: ServerSpec;
  readonly #log: LogBuffer;
  readonly #startTimeout: number;
  readonly #stopTimeout: number;
  #run: ServerProcess | undefined;
  #state: ServerState = 'starting';
  #expectExit = false;
  #stopped: Promise<void> | undefined;

  constructor(spec: ServerSpec, options: ServerOptions = {}) {
    this.#spec = spec;
    this.#log = new LogBuffer(options.logLimit);
    this.#startTimeout = options.startTimeout ?? DEFAULT_START_TIMEOUT;
    this.#stopTimeout = options.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
  }

  get kind(): ServerKind {
    return this.#spec.kind;
  }

  get url(): string {
    return `${this.#spec.kind}://${this.host}:${this.port}`;
  }

  get host(): string {
    return LOOPBACK;
  }

  get port(): number {
    return this.#spec.port;
  }

  get dataDir(): string {
    return this.#spec.dataDir;
  }

  get pid(): number | undefined {
    return this.#run?.exit === undefined ? this.#run?.pid : undefined;
  }

  get state(): ServerState {
    return this.#state;
  }

  /** `kind:port`, for messages. */
  get label(): string {
    return `${this.#spec.kind}:${this.#spec.port}`;
  }

  log(): string {
    return this.#log.text();
  }

  /**
   * Starts a run and (by default) waits until it answers.
   * @throws CoordError `TIMEOUT` (not ready in time) or `UNAVAILABLE` (exited during start).
   */
  async start(waitUntilReady = true): Promise<void> {
    if (this.#stopped !== undefined) throw new CoordError('CLOSED', `@coord/testing: ${this.label} was stopped`);
    if (this.#run !== undefined && this.#run.exit === undefined) {
      throw new CoordError('INVALID_ARGUMENT', `@coord/testing: ${this.label} is already running`);
    }
    this.#state = 'starting';
    this.#expectExit = false;
    const run = new ServerProcess(this.#spec.launch(), this.#log, this.label);
    this.#run = run;
    void run.exited.then((info) => this.#exited(run, info));
    if (waitUntilReady) await this.#waitReady(run);
    if (this.#run === run && run.exit === undefined) this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  async kill(): Promise<void> {
    const run = this.#run;
    if (run === undefined || run.exit !== undefined) return;
    this.#expectExit = true;
    await run.kill();
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.#stopped !== undefined) throw new CoordError('CLOSED', `@coord/testing: ${this.label} was stopped`);
    const run = this.#run;
    if (run !== undefined && run.exit === undefined) {
      this.#expectExit = true;
      await run.terminate(this.#stopTimeout);
    }
    this.#log.append(`\n--- @coord/testing: restarting ${this.label} ---\n`);
    await this.start(options.waitUntilReady ?? true);
  }

  async pause(): Promise<void> {
    const run = this.#live('pause');
    run.signal('SIGSTOP');
    this.#state = 'paused';
    await this.#untilProcState(run, (state) => state === 'T' || state === 't');
  }

  async resume(): Promise<void> {
    const run = this.#live('resume');
    run.signal('SIGCONT');
    this.#state = 'running';
    await this.#untilProcState(run, (state) => state !== 'T' && state !== 't');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #shutdown(): Promise<void> {
    this.#expectExit = true;
    await this.#run?.terminate(this.#stopTimeout);
    this.#state = 'stopped';
    rmSync(this.#spec.dataDir, { recursive: true, force: true, maxRetries: 3 });
    untrackDir(this.#spec.dataDir);
  }

  #live(what: string): ServerProcess {
    const run = this.#run;
    if (run === undefined || run.exit !== undefined) {
      throw new CoordError('INVALID_ARGUMENT', `@coord/testing: cannot ${what} ${this.label}: it is ${this.#state}`);
    }
    return run;
  }

  /** Waits (up to 2 s) until /proc shows the signal took effect; no-op without /proc. */
  async #untilProcState(run: ServerProcess, done: (state: string) => boolean): Promise<void> {
    for (let i = 0; HAS_PROC && i < 200 && run.pid !== undefined && run.exit === undefined; i += 1) {
      const state = procState(run.pid);
      if (state === undefined || done(state)) return;
      await sleep(10);
    }
  }

  #exited(run: ServerProcess, info: Parameters<typeof ServerProcess.describe>[0]): void {
    if (this.#run !== run) return;
    const wasServing = this.#state === 'running' || this.#state === 'paused';
    if (this.#state !== 'stopped') this.#state = 'down';
    // During a start the start's own error reports the exit.
    if (wasServing && !this.#expectExit && this.#stopped === undefined) {
      // A crash nobody asked for: say so where a test's output will show it.
      process.stderr.write(
        `@coord/testing: ${this.label} ${ServerProcess.describe(info)} unexpectedly; last lines:\n${this.#log.tail()}\n`,
      );
    }
  }

  async #waitReady(run: ServerProcess): Promise<void> {
    const started = performance.now();
    let lastError: unknown;
    for (;;) {
      if (run.exit !== undefined) {
        throw this.#failure('UNAVAILABLE', `${ServerProcess.describe(run.exit)} before it was ready`, lastError);
      }
      const left = this.#startTimeout - (performance.now() - started);
      if (left <= 0) {
        this.#expectExit = true;
        await run.kill();
        throw this.#failure('TIMEOUT', `did not answer within ${this.#startTimeout} ms`, lastError);
      }
      try {
        await this.#probe(run, Math.min(left, PROBE_TIMEOUT));
        if (run.exit === undefined) return;
      } catch (error) {
        lastError = error;
      }
      await Promise.race([sleep(Math.min(PROBE_INTERVAL, left)), run.exited]);
    }
  }

  /** One probe, given up after `ms` or as soon as the process exits. */
  async #probe(run: ServerProcess, ms: number): Promise<void> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${ms} ms`)), ms);
    try {
      await this.#spec.probe(AbortSignal.any([deadline.signal, run.exitSignal]));
    } finally {
      clearTimeout(timer);
    }
  }

  #failure(code: ErrorCode, what: string, cause: unknown): CoordError {
    const why = cause instanceof Error ? ` (last probe: ${cause.message})` : '';
    return new CoordError(
      code,
      `@coord/testing: ${this.label} ${what}${why}; data dir ${this.dataDir}. Last lines of its log:\n${this.#log.tail()}`,
      { cause },
    );
  }
}
