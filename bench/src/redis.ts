/**
 * `pnpm bench:redis` (`node bench/dist/src/redis.js [--seconds 3] [--waiters 100]`): the Redis
 * driver on a real redis-server started here, with `@sesamecare-oss/redlock` (Redlock on the
 * same server, through the same client library) as a peer in the same run.
 *
 * Round trips are counted by the SERVER (`INFO commandstats`), not by us: every command the
 * driver sends on the uncontended path goes alone (nothing is pipelined there), so commands
 * are round trips. Heartbeats (`PEXPIRE`, two per beat in one write) are reported on their
 * own line, not hidden; the `INFO` probes themselves are subtracted. Wake-ups per handoff are
 * the counting wrapper's (watches that fired because something changed). Not a test: it
 * prints figures and asserts nothing.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Redlock, type Lock as RedlockLock } from '@sesamecare-oss/redlock';
import { connect } from 'coord';
import { startRedis, type ServerHandle } from '@coord/testing';
import { measureHandoff, type HandoffResult } from './handoff.js';
import { fmt, round, table, type Row } from './report.js';

/**
 * What the server executed, split by who sent it, from `MONITOR`: the server reports every
 * command with its source — a client's address, or `lua` for a command a script ran.
 */
class ServerCounter {
  readonly #clients = new Map<string, number>();
  readonly #scripts = new Map<string, number>();
  #monitor: Redis | undefined;

  static async start(server: ServerHandle): Promise<ServerCounter> {
    const counter = new ServerCounter();
    const admin = new Redis({ host: server.host, port: server.port });
    counter.#monitor = await admin.monitor();
    admin.disconnect();
    counter.#monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = String(args[0]).toLowerCase();
      const into = source === 'lua' ? counter.#scripts : counter.#clients;
      into.set(command, (into.get(command) ?? 0) + 1);
    });
    // MONITOR reports asynchronously: a PING through it marks where the stream is now.
    await counter.#sync(server);
    counter.reset();
    return counter;
  }

  /** Forgets what was counted. */
  reset(): void {
    this.#clients.clear();
    this.#scripts.clear();
  }

  /** Counts so far, per `cycles` (after the monitor caught up with the server). */
  async per(server: ServerHandle, cycles: number): Promise<ServerCount> {
    await this.#sync(server);
    const sum = (map: Map<string, number>, skip: (command: string) => boolean = () => false): number =>
      [...map].reduce((total, [command, n]) => total + (skip(command) ? 0 : n), 0);
    const heartbeat = (command: string): boolean => command === 'pexpire';
    const probe = (command: string): boolean => command === 'ping' && this.#clients.has('ping');
    const byCommand: Record<string, number> = {};
    for (const [command, n] of this.#clients) if (!heartbeat(command) && !probe(command)) byCommand[command] = round(n / cycles) ?? 0;
    return {
      byCommand,
      requests: (sum(this.#clients, (c) => heartbeat(c) || probe(c))) / cycles,
      scripts: ((this.#clients.get('evalsha') ?? 0) + (this.#clients.get('eval') ?? 0)) / cycles,
      heartbeats: (this.#clients.get('pexpire') ?? 0) / cycles,
      insideScripts: sum(this.#scripts) / cycles,
    };
  }

  close(): void {
    this.#monitor?.disconnect();
  }

  async #sync(server: ServerHandle): Promise<void> {
    const marker = `coord-bench-sync-${Math.random().toString(36).slice(2)}`;
    const seen = new Promise<void>((resolve) => {
      const onMonitor = (_time: string, args: string[]): void => {
        if (args[1] !== marker) return;
        this.#monitor?.off('monitor', onMonitor);
        resolve();
      };
      this.#monitor?.on('monitor', onMonitor);
    });
    const probe = new Redis({ host: server.host, port: server.port });
    await probe.echo(marker);
    probe.disconnect();
    await seen;
    const echo = this.#clients.get('echo') ?? 0;
    if (echo > 0) this.#clients.set('echo', echo - 1);
    if (this.#clients.get('echo') === 0) this.#clients.delete('echo');
  }
}

/** What the server executed per cycle: requests (round trips) and, apart, heartbeats. */
interface ServerCount {
  /** Client-sent commands per cycle, by name (heartbeats excluded). */
  readonly byCommand: Readonly<Record<string, number>>;
  /** Commands clients sent per cycle (each its own round trip on this path); heartbeats excluded. */
  readonly requests: number;
  /** Of those, scripts (`EVALSHA`/`EVAL`). */
  readonly scripts: number;
  /** Heartbeat commands per cycle (`PEXPIRE` sent by a client), excluded above. */
  readonly heartbeats: number;
  /** Commands the scripts ran inside the server per cycle (no round trip). */
  readonly insideScripts: number;
}

/** (b) Server-counted commands per uncontended acquire+release of the Coord lock. */
async function coordRoundTrips(url: string, server: ServerHandle, counter: ServerCounter, cycles: number): Promise<ServerCount> {
  await using coord = await connect(`${url}${url.includes('?') ? '&' : '?'}sessionTimeout=60000`);
  const lock = coord.lock('/bench/round-trips');
  for (let i = 0; i < 50; i += 1) await (await lock.acquire()).release(); // scripts loaded, warm
  counter.reset();
  for (let i = 0; i < cycles; i += 1) await (await lock.acquire()).release();
  return counter.per(server, cycles);
}

/** Server-counted commands per handoff of the Coord lock's handoff benchmark (queueing included). */
async function coordHandoff(url: string, server: ServerHandle, counter: ServerCounter, waiters: number, rounds: number): Promise<{ result: HandoffResult; server: ServerCount }> {
  counter.reset();
  const result = await measureHandoff(url, { waiters, coordinators: 10, rounds });
  return { result, server: await counter.per(server, result.handoffs) };
}

/** One uncontended Redlock acquire+release, the peer's cycle. */
function redlockCycle(client: Redis): () => Promise<void> {
  const redlock = new Redlock([client], { retryCount: 0 });
  return async () => {
    const lock: RedlockLock = await redlock.acquire(['{bench}:redlock:uncontended'], 10_000);
    await lock.release();
  };
}

/** Cycles of `cycle` for at least `ms` (in batches, yielding between them as a real process would). */
async function slice(cycle: () => Promise<void>, ms: number): Promise<{ cycles: number; ms: number }> {
  const start = performance.now();
  let cycles = 0;
  do {
    for (let i = 0; i < 64; i += 1) await cycle();
    cycles += 64;
    await new Promise((resolve) => setImmediate(resolve));
  } while (performance.now() - start < ms);
  return { cycles, ms: performance.now() - start };
}

/**
 * (a) Uncontended cycles/s of the Coord lock and of Redlock, measured in alternating slices
 * of a quarter second so that both see the same machine load (this machine is shared).
 */
async function interleavedThroughput(url: string, client: Redis, seconds: number): Promise<{ coord: number; redlock: number }> {
  await using coord = await connect(url);
  const lock = coord.lock('/bench/throughput');
  const coordCycle = async (): Promise<void> => (await lock.acquire()).release();
  const peerCycle = redlockCycle(client);
  await slice(coordCycle, 300); // warm-up: scripts loaded, code optimized
  await slice(peerCycle, 300);
  const total = { coord: { cycles: 0, ms: 0 }, redlock: { cycles: 0, ms: 0 } };
  for (let spent = 0; spent < seconds * 1000; spent += 500) {
    const a = await slice(coordCycle, 250);
    const b = await slice(peerCycle, 250);
    total.coord = { cycles: total.coord.cycles + a.cycles, ms: total.coord.ms + a.ms };
    total.redlock = { cycles: total.redlock.cycles + b.cycles, ms: total.redlock.ms + b.ms };
  }
  return { coord: (total.coord.cycles * 1000) / total.coord.ms, redlock: (total.redlock.cycles * 1000) / total.redlock.ms };
}

/** Redlock: server-counted commands per uncontended cycle. */
async function redlockRoundTrips(client: Redis, server: ServerHandle, counter: ServerCounter, cycles: number): Promise<ServerCount> {
  const cycle = redlockCycle(client);
  await cycle();
  counter.reset();
  for (let i = 0; i < cycles; i += 1) await cycle();
  return counter.per(server, cycles);
}

/**
 * Redlock handoff: `waiters` clients queue (Redlock has no queue: each retries on its own
 * timer) behind a holder; each one granted releases at once. Redlock wakes nobody: waiters
 * poll, so the figure to compare is server commands per handoff.
 */
async function redlockHandoff(client: Redis, server: ServerHandle, counter: ServerCounter, waiters: number): Promise<{ handoffsPerSecond: number; server: ServerCount }> {
  const resource = '{bench}:redlock:handoff';
  const redlock = new Redlock([client], { retryCount: -1, retryDelay: 50, retryJitter: 50 });
  const held = await redlock.acquire([resource], 30_000);
  counter.reset();
  const drained = Array.from({ length: waiters }, async () => {
    const lock = await redlock.acquire([resource], 30_000);
    await lock.release();
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // all waiters polling
  const start = performance.now();
  await held.release();
  await Promise.all(drained);
  const ms = performance.now() - start;
  return { handoffsPerSecond: (waiters * 1000) / ms, server: await counter.per(server, waiters) };
}

interface Settings {
  readonly seconds: number;
  readonly waiters: number;
  readonly rounds: number;
}

async function run(server: ServerHandle, settings: Settings): Promise<void> {
  const { seconds, waiters, rounds } = settings;
  const url = `${server.url}?prefix=bench`;
  const client = new Redis({ host: server.host, port: server.port });
  let counter: ServerCounter | undefined;
  try {
    // Throughput first, without MONITOR (which slows the server down); then the counts.
    const rates = await interleavedThroughput(url, client, seconds);
    const throughput = { cyclesPerSecond: rates.coord };
    const peerCyclesPerSecond = rates.redlock;
    counter = await ServerCounter.start(server);
    const trips = await coordRoundTrips(url, server, counter, 2_000);
    const handoff = await coordHandoff(url, server, counter, waiters, rounds);
    const peer = { cyclesPerSecond: peerCyclesPerSecond, server: await redlockRoundTrips(client, server, counter, 2_000) };
    const peerHandoff = await redlockHandoff(client, server, counter, waiters);
    const ratio = throughput.cyclesPerSecond / peer.cyclesPerSecond;
    process.stdout.write(`${table(rows(throughput.cyclesPerSecond, trips, handoff, peer, peerHandoff, ratio))}\n`);
    process.stdout.write(
      `${JSON.stringify({
        backend: 'redis',
        cyclesPerSecond: Math.round(throughput.cyclesPerSecond),
        serverRequestsPerCycle: round(trips.requests),
        serverScriptsPerCycle: round(trips.scripts),
        heartbeatCommandsPerCycle: round(trips.heartbeats, 4),
        handoffWaiters: waiters,
        wakeupsPerHandoff: round(handoff.result.wakeupsPerHandoff),
        serverRequestsPerHandoff: round(handoff.server.requests),
        serverCommandsPerHandoffByName: handoff.server.byCommand,
        handoffsPerSecond: Math.round(handoff.result.handoffsPerSecond),
        redlockCyclesPerSecond: Math.round(peer.cyclesPerSecond),
        redlockServerRequestsPerCycle: round(peer.server.requests),
        redlockServerRequestsPerHandoff: round(peerHandoff.server.requests),
        redlockHandoffsPerSecond: Math.round(peerHandoff.handoffsPerSecond),
        coordToRedlockThroughputRatio: round(ratio),
      })}\n`,
    );
  } finally {
    counter?.close();
    client.disconnect();
  }
}

function rows(
  cyclesPerSecond: number,
  trips: ServerCount,
  handoff: { result: HandoffResult; server: ServerCount },
  peer: { cyclesPerSecond: number; server: ServerCount },
  peerHandoff: { handoffsPerSecond: number; server: ServerCount },
  ratio: number,
): Row[] {
  return [
    { metric: 'coord lock on redis', value: '' },
    { metric: '(a) uncontended acquire+release, cycles/s (interleaved with the peer)', value: fmt(cyclesPerSecond) },
    { metric: '(b) server-counted requests per cycle (heartbeats excluded)', value: fmt(trips.requests, 2), expected: '2.00' },
    { metric: '    of which scripts (EVALSHA)', value: fmt(trips.scripts, 2), expected: '2.00' },
    { metric: '    heartbeat commands per cycle (PEXPIRE, reported apart)', value: fmt(trips.heartbeats, 4) },
    { metric: '    commands run inside the scripts per cycle', value: fmt(trips.insideScripts, 2) },
    { metric: `(c) handoff: ${handoff.result.waiters} waiters on 10 sessions, x${handoff.result.rounds}`, value: '' },
    { metric: '    wake-ups per handoff (wrapper)', value: fmt(handoff.result.wakeupsPerHandoff, 2), expected: '1.00' },
    { metric: '    server-counted commands per handoff (queueing included)', value: fmt(handoff.server.requests, 2) },
    ...breakdown(handoff.server.byCommand),
    { metric: '    handoffs/s', value: fmt(handoff.result.handoffsPerSecond) },
    { metric: 'peer: @sesamecare-oss/redlock, same server and client library', value: '' },
    { metric: '(a) uncontended acquire+release, cycles/s', value: fmt(peer.cyclesPerSecond) },
    { metric: '(b) server-counted requests per cycle', value: fmt(peer.server.requests, 2) },
    { metric: `(c) handoff: ${handoff.result.waiters} polling waiters, server requests per handoff`, value: fmt(peerHandoff.server.requests, 2) },
    { metric: '    handoffs/s', value: fmt(peerHandoff.handoffsPerSecond) },
    { metric: 'coord / redlock uncontended throughput', value: fmt(ratio, 2) },
  ];
}

/** The handoff's commands by kind: scripts, (un)subscriptions, and the sessions' own connect/close. */
function breakdown(byCommand: Readonly<Record<string, number>>): Row[] {
  const main = ['evalsha', 'eval', 'subscribe', 'unsubscribe'];
  const other = Object.entries(byCommand).filter(([command]) => !main.includes(command)).reduce((sum, [, n]) => sum + n, 0);
  const get = (command: string): number => byCommand[command] ?? 0;
  return [
    { metric: `      scripts ${fmt(get('evalsha') + get('eval'), 2)}, subscribe ${fmt(get('subscribe'), 2)}, unsubscribe ${fmt(get('unsubscribe'), 2)}`, value: '' },
    { metric: `      sessions' connect/close ${fmt(other, 2)}; a SUBSCRIBE shares its read's round trip`, value: '' },
  ];
}

function parse(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: { seconds: { type: 'string' }, waiters: { type: 'string' }, rounds: { type: 'string' } },
  });
  const number = (text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`bad number '${text}'`);
    return value;
  };
  return { seconds: number(values.seconds, 3), waiters: Math.round(number(values.waiters, 100)), rounds: Math.round(number(values.rounds, 3)) };
}

async function main(args: readonly string[]): Promise<number> {
  let settings: Settings;
  try {
    settings = parse(args);
  } catch (error) {
    process.stderr.write(`bench:redis: ${(error as Error).message}\nUsage: node bench/dist/src/redis.js [--seconds 3] [--waiters 100] [--rounds 3]\n`);
    return 2;
  }
  const server = await startRedis();
  try {
    process.stdout.write(`coord bench on redis-server at ${server.host}:${server.port} (node ${process.version})\n`);
    await run(server, settings);
    return 0;
  } catch (error) {
    process.stderr.write(`bench:redis: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await server.stop();
  }
}

process.exitCode = await main(process.argv.slice(2));
