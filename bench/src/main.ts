/**
 * `node bench/dist/src/main.js [--url memory://bench] [--seconds 3]`: throughput, round
 * trips and handoff figures of the lock, and the requests per operation of every recipe,
 * measured through the public API. Not a test: it
 * prints figures and asserts nothing (the "expected" column is for the reader).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseUrl } from 'coord';
import { measureRequests, measureThroughput, type RequestsResult, type ThroughputResult } from './cycles.js';
import { measureHandoff, type HandoffResult } from './handoff.js';
import { measureRecipes, type RecipeCost } from './recipes.js';
import { fmt, round, table, type Row } from './report.js';

const USAGE = `Usage: node bench/dist/src/main.js [options]

  --url URL            backend (default memory://bench)
  --seconds S          timed run of the uncontended benchmark (default 3)
  --waiters N          waiters queued in the handoff benchmark (default 100)
  --coordinators N     sessions the waiters are spread over (default 10)
  --rounds N           handoff rounds (default 5)
  -h, --help           print this help
`;

interface Settings {
  readonly url: string;
  readonly seconds: number;
  readonly waiters: number;
  readonly coordinators: number;
  readonly rounds: number;
}

async function run(settings: Settings): Promise<void> {
  const { url, seconds } = settings;
  const redacted = parseUrl(url).redacted;
  process.stdout.write(`coord bench on ${redacted} (node ${process.version}, ${availableParallelism()} CPUs)\n`);
  const throughput = await measureThroughput(url, seconds);
  const requests = await measureRequests(url);
  const handoff = await measureHandoff(url, settings);
  const recipes = await measureRecipes(url);
  process.stdout.write(`${table([...rows(throughput, requests, handoff), ...recipeRows(recipes)])}\n`);
  const recipeFigures = Object.fromEntries(recipes.map((cost) => [cost.operation, round(cost.requests)]));
  process.stdout.write(`${JSON.stringify({ url: redacted, ...figures(throughput, requests, handoff), requestsPerRecipeOperation: recipeFigures })}\n`);
}

function rows(throughput: ThroughputResult, requests: RequestsResult, handoff: HandoffResult): Row[] {
  const methods = Object.entries(requests.byMethod).map(([method, n]) => `${method} ${fmt(n, 2)}`).join(', ');
  return [
    { metric: '(a) uncontended acquire+release, cycles/s', value: fmt(throughput.cyclesPerSecond) },
    { metric: '    µs per cycle', value: fmt(throughput.microsPerCycle, 2) },
    { metric: `    cycles in ${fmt(throughput.seconds, 2)} s`, value: fmt(throughput.cycles) },
    { metric: '(b) driver requests per cycle (wrapper)', value: fmt(requests.perCycle, 2), expected: '2.00' },
    { metric: `    by method: ${methods}`, value: '' },
    { metric: '    memory store requests per cycle', value: fmt(requests.storePerCycle, 2), expected: '2.00' },
    { metric: `(c) handoff: ${handoff.waiters} waiters on ${handoff.coordinators} sessions, x${handoff.rounds}`, value: '' },
    { metric: `    wake-ups per handoff (${handoff.wakeups}/${handoff.handoffs}, wrapper)`, value: fmt(handoff.wakeupsPerHandoff, 2), expected: '1.00' },
    { metric: '    memory store watch firings per handoff', value: fmt(handoff.storeFiringsPerHandoff, 2), expected: '1.00' },
    { metric: '    driver requests per handoff', value: fmt(handoff.requestsPerHandoff, 2) },
    { metric: '    handoffs/s', value: fmt(handoff.handoffsPerSecond) },
  ];
}

function recipeRows(costs: readonly RecipeCost[]): Row[] {
  return [
    { metric: '(d) driver requests per uncontended recipe operation', value: '' },
    ...costs.map((cost) => ({ metric: `    ${cost.operation}`, value: fmt(cost.requests, 2), expected: `>= ${cost.minimum}` })),
  ];
}

function figures(throughput: ThroughputResult, requests: RequestsResult, handoff: HandoffResult): Record<string, unknown> {
  return {
    seconds: round(throughput.seconds),
    cycles: throughput.cycles,
    cyclesPerSecond: Math.round(throughput.cyclesPerSecond),
    requestsPerCycle: round(requests.perCycle),
    requestsPerCycleByMethod: requests.byMethod,
    storeRequestsPerCycle: round(requests.storePerCycle),
    handoffWaiters: handoff.waiters,
    handoffCoordinators: handoff.coordinators,
    handoffRounds: handoff.rounds,
    handoffs: handoff.handoffs,
    wakeups: handoff.wakeups,
    wakeupsPerHandoff: round(handoff.wakeupsPerHandoff),
    storeWatchFiringsPerHandoff: round(handoff.storeFiringsPerHandoff),
    requestsPerHandoff: round(handoff.requestsPerHandoff),
    handoffsPerSecond: Math.round(handoff.handoffsPerSecond),
  };
}

function parse(args: readonly string[]): Settings & { help: boolean } {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      seconds: { type: 'string' },
      waiters: { type: 'string' },
      coordinators: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  return {
    help: values.help === true,
    url: values.url ?? 'memory://bench',
    seconds: number(values.seconds, '--seconds', 3, 0.1, 600),
    waiters: number(values.waiters, '--waiters', 100, 1, 10_000, true),
    coordinators: number(values.coordinators, '--coordinators', 10, 1, 1_000, true),
    rounds: number(values.rounds, '--rounds', 5, 1, 100, true),
  };
}

function number(text: string | undefined, flag: string, fallback: number, min: number, max: number, integer = false): number {
  if (text === undefined) return fallback;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/** The message of an error, with any `scheme://user:pass@` scrubbed as a second line of defence. */
function describe(error: unknown): string {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const text = (typeof message === 'string' ? message : String(error)).replace(/(:\/\/[^\s/@:]*):[^\s@]*@/g, '$1:***@');
  return typeof code === 'string' ? `${code}: ${text}` : text;
}

async function main(args: readonly string[]): Promise<number> {
  let settings;
  try {
    settings = parse(args);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (settings.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    await run(settings);
    return 0;
  } catch (error) {
    process.stderr.write(`bench: ${describe(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
