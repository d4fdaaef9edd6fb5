/**
 * The demo: OpenStack Heat's story of several engines updating one stack. Each worker is
 * its own `connect(url)` — its own session, like a separate process — and they race for the
 * lock `/stack/42`. One of them crashes while holding it; the lock must hand over only after
 * the crashed holder's lease signal has aborted, and the fencing store must never see a
 * stale token.
 */
import { connect, parseUrl, type Coordinator } from 'coord';
import { HolderMonitor } from './holders.js';
import { createLog, describeError, type Log } from './log.js';
import { StackStore } from './stack-store.js';
import { runWorker, type Tally } from './worker.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Backend URL; `memory://demo` by default. */
  readonly url?: string;
  /** Number of workers (default 4). */
  readonly workers?: number;
  /** Rounds per worker (default 3). */
  readonly rounds?: number;
  /** Session timeout, ms (default 1500): short, so the crash is noticed quickly. */
  readonly sessionTimeout?: number;
  /** Where event lines go (default: stdout with timestamps). */
  readonly log?: Log;
}

/** What {@link runDemo} observed. */
export interface DemoResult {
  /** Writes the fencing store accepted. */
  readonly accepted: number;
  /** Writes the fencing store rejected (only crashed holders' stale writes, in a correct run). */
  readonly rejected: number;
  /** Stale writes of crashed holders that the fencing check refused. */
  readonly staleWritesFenced: number;
  readonly crashes: number;
  /** Acquires that timed out (not an invariant, but worth knowing). */
  readonly timeouts: number;
  /** Broken invariants: overlapping holders, worker failures (empty in a correct run). */
  readonly violations: readonly string[];
  /** No violation, and no rejected write other than crashed holders' stale ones. */
  readonly ok: boolean;
}

const LOCK_PATH = '/stack/42';
const ACQUIRE_TIMEOUT_MS = 10_000;

/**
 * Runs the demo and closes every coordinator it opened.
 * @example
 * ```ts
 * const result = await runDemo({ url: 'memory://demo', workers: 4 });
 * process.exitCode = result.ok ? 0 : 1;
 * ```
 * @throws CoordError from `connect` (`INVALID_URL`, `UNSUPPORTED`, `UNAVAILABLE`...).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const url = options.url ?? 'memory://demo';
  const workers = options.workers ?? 4;
  const rounds = options.rounds ?? 3;
  const sessionTimeout = options.sessionTimeout ?? 1_500;
  const log = options.log ?? createLog();
  // Fail on a bad URL before opening anything. The option, not a `?sessionTimeout=` appended
  // to the URL, so a URL that already has a query stays intact.
  const redacted = parseUrl(url, { sessionTimeout }).redacted;
  const coords = await connectAll(url, workers, sessionTimeout);
  log(`${workers} worker${workers === 1 ? '' : 's'} race to update stack 42 on ${redacted} (lock ${LOCK_PATH}, session timeout ${sessionTimeout} ms)`);
  const shared: Shared = { store: new StackStore(), holders: new HolderMonitor(), tally: { crashes: 0, timeouts: 0, staleWritesFenced: 0 }, failures: [], log, rounds };
  // Worker 2 crashes in its round 2: late enough that the others are queued behind it.
  const crasher = Math.min(2, workers) - 1;
  await Promise.all(coords.map((coord, i) => runOne(coord, `worker-${i + 1}`, i === crasher ? Math.min(2, rounds) : undefined, shared)));
  const { store, holders, tally, failures } = shared;
  const violations = [...holders.violations, ...failures];
  return { accepted: store.accepted, rejected: store.rejected, ...tally, violations, ok: violations.length === 0 && store.rejected === tally.staleWritesFenced };
}

/** State every worker shares. */
interface Shared {
  readonly store: StackStore;
  readonly holders: HolderMonitor;
  readonly tally: Tally;
  readonly failures: string[];
  readonly log: Log;
  readonly rounds: number;
}

/** Runs one worker to completion and always closes its coordinator; never rejects. */
async function runOne(coord: Coordinator, name: string, crashRound: number | undefined, shared: Shared): Promise<void> {
  const { log } = shared;
  coord.on('state', ({ state }) => {
    if (state === 'expired') log(`${name} session expired`);
  });
  try {
    await runWorker({ ...shared, name, coord, path: LOCK_PATH, crashRound, acquireTimeout: ACQUIRE_TIMEOUT_MS });
  } catch (error) {
    shared.failures.push(`${name} failed: ${describeError(error)}`);
    log(`${name} FAILED: ${describeError(error)}`);
  } finally {
    await coord.close();
  }
}

/** Opens one coordinator per worker; on any failure closes those that opened and rethrows. */
async function connectAll(url: string, count: number, sessionTimeout: number): Promise<Coordinator[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => connect(url, { sessionTimeout })));
  const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed === undefined) return opened;
  await Promise.all(opened.map((coord) => coord.close()));
  throw failed.reason;
}
