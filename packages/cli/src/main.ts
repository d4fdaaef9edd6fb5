#!/usr/bin/env node
/**
 * The `coord` command. Exit codes: 0 success, 1 failure (a broken invariant, or an error
 * such as a bad URL), 2 usage error. It sets `process.exitCode` rather than calling
 * `process.exit()`, so a leaked timer or socket shows up as a process that does not end.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { describeError } from './log.js';

const USAGE = `Usage: coord <command> [options]

Commands:
  demo        Several workers race to update /stack/42 under a distributed lock; one
              crashes while holding it. Shows fencing tokens and lease signals.
  help        Print this help.

Options (demo):
  --url URL         backend URL (default memory://demo), e.g. zookeeper://h1:2181/app
  --workers N       number of workers, each with its own session (1-16, default 4)
  --rounds N        updates per worker (1-10, default 3)
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
    const result = await runDemo({ url: parsed.url, workers: parsed.workers, rounds: parsed.rounds });
    printSummary(result);
    return result.ok ? 0 : 1;
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
}

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
  };
}

function integer(text: string | undefined, flag: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= max)) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got '${text}'`);
  return value;
}

/** Node's parseArgs throws plain errors with an `ERR_PARSE_ARGS_*` code for bad options. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function printSummary(result: Awaited<ReturnType<typeof runDemo>>): void {
  const lines = [
    '',
    'summary:',
    `  updates accepted              ${result.accepted}`,
    `  rejected by the fencing check ${result.rejected} (stale writes of crashed holders: ${result.staleWritesFenced})`,
    `  crashes                       ${result.crashes}`,
    `  acquire timeouts              ${result.timeouts}`,
    `  invariants                    ${result.ok ? 'held (one holder at a time, no stale write applied)' : 'BROKEN'}`,
    ...result.violations.map((v) => `    - ${v}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coord: unexpected error: ${describeError(error)}\n`);
  return 1;
});
