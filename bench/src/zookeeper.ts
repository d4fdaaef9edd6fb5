/**
 * `pnpm bench:zookeeper`: the lock's figures on a real ZooKeeper server started for the run —
 * (a) uncontended acquire+release cycles/s, (b) requests per cycle counted by the SERVER
 * (`mntr`'s `zk_packets_received`), (c) wake-ups per handoff with 100 waiters. Not a test:
 * it prints figures and asserts nothing.
 *
 * Pings. The server counts pings as packets too. A busy session sends none (the C client pings
 * only after a third of the session timeout without traffic, and the driver's heartbeat only
 * when no request was answered for as long), so the busy figure needs no correction; the run
 * also measures an idle session's packet rate, and reports the figure with that rate
 * subtracted as a bound.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from 'coord';
import { fourLetterWord, startZooKeeper, type ServerHandle } from '@coord/testing';
import { measureRequests, measureThroughput } from './cycles.js';
import { measureHandoff } from './handoff.js';
import { fmt, round, table } from './report.js';

/** Requests one uncontended acquire+release should cost on ZooKeeper: create, getChildren2, delete (as Curator). */
const EXPECTED_REQUESTS = 3;

async function packetsReceived(server: ServerHandle): Promise<number> {
  const mntr = await fourLetterWord(server, 'mntr');
  const match = /^zk_packets_received\s+(\d+)/m.exec(mntr);
  if (match === null) throw new Error('mntr has no zk_packets_received');
  return Number(match[1]);
}

/** Packets per second the server receives from one idle session (its pings and heartbeats). */
async function idlePacketRate(server: ServerHandle, seconds: number): Promise<number> {
  await using coord = await connect(server.url);
  void coord;
  const before = await packetsReceived(server);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await packetsReceived(server);
  return (after - before) / ((performance.now() - start) / 1000);
}

/** Server packets per uncontended acquire+release, over `cycles` cycles of one session. */
async function serverRequestsPerCycle(server: ServerHandle, cycles: number): Promise<{ perCycle: number; seconds: number }> {
  await using coord = await connect(server.url);
  const lock = coord.lock('/bench/server-requests');
  for (let i = 0; i < 100; i += 1) await (await lock.acquire()).release();
  const before = await packetsReceived(server);
  const start = performance.now();
  for (let i = 0; i < cycles; i += 1) await (await lock.acquire()).release();
  const seconds = (performance.now() - start) / 1000;
  const after = await packetsReceived(server);
  // The mntr exchange itself is not a client packet (four-letter words bypass the request path).
  return { perCycle: (after - before) / cycles, seconds };
}

async function run(seconds: number, cycles: number, waiters: number, rounds: number): Promise<void> {
  const server = await startZooKeeper();
  try {
    process.stdout.write(`coord bench on a ZooKeeper server at ${server.url} (node ${process.version}, ${availableParallelism()} CPUs)\n`);
    const throughput = await measureThroughput(server.url, seconds);
    const wrapper = await measureRequests(server.url, cycles);
    const idleRate = await idlePacketRate(server, 6);
    const served = await serverRequestsPerCycle(server, cycles);
    const pingBound = (idleRate * served.seconds) / cycles;
    const handoff = await measureHandoff(server.url, { waiters, coordinators: 10, rounds });
    const methods = Object.entries(wrapper.byMethod).map(([method, n]) => `${method} ${fmt(n, 2)}`).join(', ');
    process.stdout.write(
      `${table([
        { metric: '(a) uncontended acquire+release, cycles/s', value: fmt(throughput.cyclesPerSecond) },
        { metric: '    µs per cycle', value: fmt(throughput.microsPerCycle, 2) },
        { metric: '(b) driver calls per cycle (wrapper)', value: fmt(wrapper.perCycle, 2), expected: '2.00' },
        { metric: `    by method: ${methods}`, value: '' },
        { metric: `    server packets per cycle (mntr, ${fmt(cycles)} cycles)`, value: fmt(served.perCycle, 3), expected: fmt(EXPECTED_REQUESTS, 2) },
        { metric: `    idle session: packets/s (pings + heartbeats)`, value: fmt(idleRate, 3) },
        { metric: '    server packets per cycle minus that idle rate', value: fmt(served.perCycle - pingBound, 3), expected: fmt(EXPECTED_REQUESTS, 2) },
        { metric: `(c) handoff: ${handoff.waiters} waiters on ${handoff.coordinators} sessions, x${handoff.rounds}`, value: '' },
        { metric: `    wake-ups per handoff (${handoff.wakeups}/${handoff.handoffs}, wrapper)`, value: fmt(handoff.wakeupsPerHandoff, 2), expected: '1.00' },
        { metric: '    driver calls per handoff', value: fmt(handoff.requestsPerHandoff, 2) },
        { metric: '    handoffs/s', value: fmt(handoff.handoffsPerSecond) },
      ])}\n`,
    );
    const figures = {
      backend: 'zookeeper',
      cyclesPerSecond: round(throughput.cyclesPerSecond, 0),
      driverCallsPerCycle: round(wrapper.perCycle),
      serverPacketsPerCycle: round(served.perCycle, 3),
      idlePacketsPerSecond: round(idleRate, 3),
      serverRequestsPerCycleExcludingPings: round(served.perCycle - pingBound, 3),
      wakeupsPerHandoff: round(handoff.wakeupsPerHandoff),
      handoffsPerSecond: round(handoff.handoffsPerSecond, 0),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await server.stop();
  }
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    cycles: { type: 'string', default: '2000' },
    waiters: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
await run(Number(values.seconds), Number(values.cycles), Number(values.waiters), Number(values.rounds));
