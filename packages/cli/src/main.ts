#!/usr/bin/env node
/**
 * The `coord` command. Exit codes: 0 success, 1 failure (a broken invariant, or an error
 * such as a bad URL), 2 usage error. It sets `process.exitCode` rather than calling
 * `process.exit()`, so a leaked timer or socket shows up as a process that does not end.
 */
import { parseArgs } from 'node:util';
import { runDemo, type DemoResult } from './demo.js';
import { describeError } from './log.js';
import { runTaskDemo, type TaskDemoResult } from './tasks-demo.js';

const USAGE = `Usage: coord <command> [options]

Commands:
  demo        Two stories, one after the other:
              1. stack: workers race to update /stack/42 under a distributed lock; one
                 crashes while holding it. Shows fencing tokens and lease signals.
              2. tasks: engines join a group, one is elected master and puts tasks on a
                 queue, all take and ack them; the master crashes (a backup takes over)
                 and a worker crashes mid-task (its task is delivered again).
  help        Print this help.

Options (demo):
  --url URL         backend URL (default memory://demo), e.g. zookeeper://h1:2181/app
  --story NAME      stack, tasks or all (default all)
  --workers N       stack story: workers, each with its own session (1-16, default 4)
  --rounds N        stack story: updates per worker (1-10, default 3)
  --engines N       tasks story: engines, each with its own session (3-16, default 4)
  --tasks N         tasks story: number of tasks (3-100, default 12)
  -h, --help        print this help

Exit codes: 0 ok, 1 failure or broken invariant, 2 usage error.
`;

/** Thrown for bad command lines; reported with exit code 2. */
class UsageError extends Error {}

/**
 * Runs the command line `args` (without `node` and the script) and returns the exit code.
 * @example `process.exitCode = await main(['demo', '--workers', '3']);`
 */
async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError) && !isParseArgsError(error)) throw error;
    process.stderr.write(`coord: ${(error as Error).message}\nRun 'coord --help' for usage.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    let ok = true;
    if (parsed.story !== 'tasks') {
      const result = await runDemo({ url: parsed.url, workers: parsed.workers, rounds: parsed.rounds });
      printStackSummary(result);
      ok &&= result.ok;
    }
    if (parsed.story !== 'stack') {
      if (parsed.story === 'all') process.stdout.write('\n');
      const result = await runTaskDemo({ url: parsed.url, engines: parsed.engines, tasks: parsed.tasks });
      printTaskSummary(result);
      ok &&= result.ok;
    }
    return ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`coord: ${describeError(error)}\n`);
    return 1;
  }
}

interface Parsed {
  readonly help: boolean;
  readonly url: string;
  readonly workers: number;
  readonly rounds: number;
  readonly story: 'stack' | 'tasks' | 'all';
  readonly engines: number;
  readonly tasks: number;
}

const STORIES = ['stack', 'tasks', 'all'] as const;

function parse(args: readonly string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      workers: { type: 'string' },
      rounds: { type: 'string' },
      story: { type: 'string' },
      engines: { type: 'string' },
      tasks: { type: 'string' },
    },
  });
  const [command, ...extra] = positionals;
  const help = values.help === true || command === 'help';
  if (!help && command === undefined) throw new UsageError('missing command (try: coord demo)');
  if (!help && command !== 'demo') throw new UsageError(`unknown command '${command}' (commands: demo, help)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  return {
    help,
    url: values.url ?? 'memory://demo',
    workers: integer(values.workers, '--workers', 4, 16),
    rounds: integer(values.rounds, '--rounds', 3, 10),
    story: story(values.story),
    engines: integer(values.engines, '--engines', 4, 16, 3),
    tasks: integer(values.tasks, '--tasks', 12, 100, 3),
  };
}

function story(text: string | undefined): Parsed['story'] {
  if (text === undefined) return 'all';
  const found = STORIES.find((name) => name === text);
  if (found === undefined) throw new UsageError(`--story must be one of ${STORIES.join(', ')}, got '${text}'`);
  return found;
}

function integer(text: string | undefined, flag: string, fallback: number, max: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  return value;
}

/** Node's parseArgs throws plain errors with an `ERR_PARSE_ARGS_*` code for bad options. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function printStackSummary(result: DemoResult): void {
  const lines = [
    '',
    'stack story summary:',
    `  updates accepted              ${result.accepted}`,
    `  rejected by the fencing check ${result.rejected} (stale writes of crashed holders: ${result.staleWritesFenced})`,
    `  crashes                       ${result.crashes}`,
    `  acquire timeouts              ${result.timeouts}`,
    `  invariants                    ${result.ok ? 'held (one holder at a time, no stale write applied)' : 'BROKEN'}`,
    ...result.violations.map((v) => `    - ${v}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function redelivered(tasks: readonly number[]): string {
  if (tasks.length === 0) return '';
  return ` (task${tasks.length === 1 ? '' : 's'} ${tasks.join(', ')})`;
}

function printTaskSummary(result: TaskDemoResult): void {
  const lines = [
    '',
    'tasks story summary:',
    `  tasks done                    ${result.done} of ${result.tasks}`,
    `  delivered again after a crash ${result.redelivered.length}${redelivered(result.redelivered)}, none lost; done twice: ${result.repeats}`,
    `  masters, in order             ${result.masters.map((m) => `${m.name} (token ${m.token})`).join(', ')}`,
    `  crashes                       ${result.crashes}`,
    `  invariants                    ${result.ok ? 'held (one master at a time, every task done, leaders with rising tokens)' : 'BROKEN'}`,
    ...result.violations.map((v) => `    - ${v}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coord: unexpected error: ${describeError(error)}\n`);
  return 1;
});
