/**
 * The demo's second story: a master hands tasks to workers, and a backup master takes over
 * when it dies. Each engine is its own `connect(url)` — its own session, like a separate
 * process. They join the group `heat-engines`, one is elected master, the master puts the
 * backlog on the queue `/heat/tasks`, and every engine takes tasks and acks them. The first
 * master crashes part-way: a backup is elected and hands out the rest. A worker crashes
 * with a task in hand: its task is delivered again to another worker. An operator (one
 * more session) watches the group and the election and reports what it sees.
 */
import { connect, isCoordError, type Coordinator } from 'coord';
import { HolderMonitor } from './holders.js';
import { createLog, describeError, type Log } from './log.js';
import { PATHS, runEngine, type CrashPlan, type EngineReport } from './tasks/engine.js';
import { TaskLedger } from './tasks/ledger.js';
import { watchOperations, type Observations } from './tasks/operator.js';

/** Options of {@link runTaskDemo}. */
export interface TaskDemoOptions {
  /** Backend URL; `memory://tasks` by default. */
  readonly url?: string;
  /** Number of engines (3-16, default 4): a master crash and a worker crash must leave one. */
  readonly engines?: number;
  /** Number of tasks (default 12). */
  readonly tasks?: number;
  /** Session timeout, ms (default 1500): short, so crashes are noticed quickly. */
  readonly sessionTimeout?: number;
  /** Where event lines go (default: stdout with timestamps). */
  readonly log?: Log;
}

/** What {@link runTaskDemo} observed. */
export interface TaskDemoResult {
  readonly tasks: number;
  /** Tasks finished (each counted once). */
  readonly done: number;
  /** Tasks delivered again because their taker crashed before acking (at-least-once at work). */
  readonly redelivered: readonly number[];
  /** Tasks finished twice (a redelivery of work that had been done; 0 when acks land). */
  readonly repeats: number;
  /** Masters elected, in order, with their tokens. */
  readonly masters: ReadonlyArray<{ readonly name: string; readonly token: bigint }>;
  readonly crashes: number;
  /** Broken invariants (empty in a correct run). */
  readonly violations: readonly string[];
  readonly ok: boolean;
}

/**
 * Runs the master/worker story and closes every coordinator it opened.
 * @example
 * ```ts
 * const result = await runTaskDemo({ url: 'memory://tasks' });
 * process.exitCode = result.ok ? 0 : 1;
 * ```
 * @throws CoordError from `connect` (`INVALID_URL`, `UNSUPPORTED`, `UNAVAILABLE`...).
 */
export async function runTaskDemo(options: TaskDemoOptions = {}): Promise<TaskDemoResult> {
  const url = options.url ?? 'memory://tasks';
  const engines = options.engines ?? 4;
  const ledger = new TaskLedger(options.tasks ?? 12);
  const sessionTimeout = options.sessionTimeout ?? 1_500;
  const log = options.log ?? createLog();
  const operator = await connect(url, { sessionTimeout });
  const coords: Coordinator[] = [];
  try {
    coords.push(...(await Promise.all(Array.from({ length: engines }, () => connect(url, { sessionTimeout })))));
    return await tell({ operator, coords, ledger, log });
  } finally {
    await Promise.all([operator, ...coords].map((coord) => coord.close()));
  }
}

interface Cast {
  readonly operator: Coordinator;
  readonly coords: readonly Coordinator[];
  readonly ledger: TaskLedger;
  readonly log: Log;
}

async function tell({ operator, coords, ledger, log }: Cast): Promise<TaskDemoResult> {
  log(`${coords.length} engines, ${ledger.total} tasks on ${operator.url}: group ${PATHS.group}, election ${PATHS.election}, queue ${PATHS.queue}`);
  await ensureGroup(operator);
  const finished = new AbortController();
  const watching = watchOperations(operator, log, finished.signal);
  const plan: CrashPlan = { masterAfterDispatching: Math.ceil(ledger.total / 3), workerOnTask: 2, masterCrashed: false, workerCrashed: false };
  const masters = new HolderMonitor();
  const failures: string[] = [];
  const runs = coords.map((coord, i) =>
    runEngine({ name: `engine-${i + 1}`, coord, ledger, masters, plan, log, finished: finished.signal }).catch((error: unknown) => {
      failures.push(`engine-${i + 1} failed: ${describeError(error)}`);
      log(`engine-${i + 1} FAILED: ${describeError(error)}`);
      return { crashed: false, tasksDone: 0 } satisfies EngineReport;
    }),
  );
  await Promise.race([ledger.whenAllDone(finished.signal), Promise.all(runs)]);
  log(ledger.allDone ? `all ${ledger.total} tasks are done; engines wind down` : 'every engine stopped before the backlog was done');
  finished.abort(new Error('story finished'));
  const reports = await Promise.all(runs);
  const seen = await watching;
  return summarize(ledger, plan, reports, seen, [...masters.violations.map((v) => v.replace('the lock', 'mastership')), ...failures]);
}

/** Creates the group once (Tooz style: joining a missing group fails `GROUP_NOT_FOUND`). */
async function ensureGroup(operator: Coordinator): Promise<void> {
  await operator.group(PATHS.group).create().catch((error: unknown) => {
    if (!isCoordError(error, 'GROUP_EXISTS')) throw error;
  });
}

function summarize(ledger: TaskLedger, plan: CrashPlan, reports: readonly EngineReport[], seen: Observations, failures: readonly string[]): TaskDemoResult {
  const violations = [...failures, ...seen.violations];
  if (!ledger.allDone) violations.push(`only ${ledger.doneCount} of ${ledger.total} tasks were done`);
  const crashes = reports.filter((r) => r.crashed).length;
  if (seen.masters.length < 2) violations.push(`expected a backup master after the crash, saw ${seen.masters.length} master(s)`);
  // The crashed worker had a task in hand, so at-least-once means someone got it again.
  if (plan.workerCrashed && ledger.redeliveries.length === 0) violations.push('the crashed worker\'s task was never delivered again');
  return { tasks: ledger.total, done: ledger.doneCount, redelivered: ledger.redeliveries, repeats: ledger.repeats.length, masters: seen.masters, crashes, violations, ok: violations.length === 0 };
}
