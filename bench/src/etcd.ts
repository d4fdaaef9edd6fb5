/**
 * `pnpm bench:etcd` (`node bench/dist/src/etcd.js [--seconds S] [--waiters N]`): the lock on
 * a real etcd that this script starts and stops, measured through the public API, with the
 * request counts taken from **etcd's own accounting** (`/metrics`: `grpc_server_handled_total`
 * per method), and the `etcd3` package's own `Lock` measured in the same run as a peer.
 *
 * What is counted, honestly:
 * - Unary requests (Range, Txn, Put, DeleteRange, LeaseGrant, LeaseRevoke, ...) are counted
 *   when etcd has answered them.
 * - Streams (Watch, LeaseKeepAlive) count once each, when they end. Coord keeps one of each
 *   per session for its whole life, so none ends during the timed window; etcd3's `Lock`
 *   opens a keep-alive stream per acquire and ends it on release, so its streams do count.
 * - Keep-alive messages are reported on their own line: Coord sends one per session every
 *   third of the TTL, whatever the number of locks; they are not part of any cycle.
 * Not a test: it asserts nothing.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from 'coord';
import { Etcd3 } from 'etcd3';
import { startEtcd, type ServerHandle } from '@coord/testing';
import { measureRequests, measureThroughput } from './cycles.js';
import { measureHandoff } from './handoff.js';
import { fmt, round, table, type Row } from './report.js';

/** etcd's gRPC counters, by method. */
type Counters = Map<string, number>;

/** Reads `grpc_server_handled_total` (per method, all codes) and keep-alive messages received. */
async function readMetrics(server: ServerHandle): Promise<{ handled: Counters; keepAlives: number }> {
  const response = await fetch(`http://${server.host}:${server.port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  const handled: Counters = new Map();
  let keepAlives = 0;
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const method = /grpc_method="([^"]+)"/.exec(line)?.[1];
    if (method === undefined) continue;
    if (line.startsWith('grpc_server_handled_total{')) handled.set(method, (handled.get(method) ?? 0) + value);
    if (line.startsWith('grpc_server_msg_received_total{') && method === 'LeaseKeepAlive') keepAlives += value;
  }
  return { handled, keepAlives };
}

/** Requests per cycle between two readings, by method (methods not used are left out). */
function perCycle(before: Counters, after: Counters, cycles: number): { total: number; byMethod: Record<string, number> } {
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (const [method, count] of after) {
    const delta = count - (before.get(method) ?? 0);
    if (delta <= 0) continue;
    byMethod[method] = round(delta / cycles, 3) ?? 0;
    total += delta;
  }
  return { total: total / cycles, byMethod };
}

/** Server requests per uncontended cycle of `cycle`, over `cycles` cycles after a warm-up. */
async function serverRequests(server: ServerHandle, cycles: number, cycle: () => Promise<void>) {
  for (let i = 0; i < 20; i += 1) await cycle();
  const before = await readMetrics(server);
  const start = performance.now();
  for (let i = 0; i < cycles; i += 1) await cycle();
  const seconds = (performance.now() - start) / 1000;
  const after = await readMetrics(server);
  return { ...perCycle(before.handled, after.handled, cycles), keepAlivesPerSecond: (after.keepAlives - before.keepAlives) / seconds };
}

/** Cycles per second of `cycle` for `seconds`, after a warm-up. */
async function cyclesPerSecond(seconds: number, cycle: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 20; i += 1) await cycle();
  const start = performance.now();
  let cycles = 0;
  while (performance.now() - start < seconds * 1000) {
    await cycle();
    cycles += 1;
  }
  return (cycles * 1000) / (performance.now() - start);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function run(seconds: number, waiters: number, cycles: number): Promise<void> {
  const server = await startEtcd();
  try {
    const url = `${server.url}/bench?ttl=5`;
    process.stdout.write(`coord bench on a real etcd at ${server.host}:${server.port} (node ${process.version}, ${availableParallelism()} CPUs)\n`);
    const wrapper = await measureRequests(url, cycles);
    const ours = await (async () => {
      await using c = await connect(url);
      const lock = c.lock('/bench/server-requests');
      return await serverRequests(server, cycles, async () => {
        const held = await lock.acquire();
        await held.release();
      });
    })();
    const client = new Etcd3({ hosts: `http://${server.host}:${server.port}` });
    const peerCycle = async (): Promise<void> => {
      const held = await client.lock('bench/etcd3-lock').ttl(10).acquire();
      await held.release();
    };
    let peer: Awaited<ReturnType<typeof serverRequests>>;
    // The two locks take turns, three slices each, and the medians are compared: the machine
    // may be busy with other work, and turns spread that over both.
    const ourRates: number[] = [];
    const peerRates: number[] = [];
    try {
      for (let slice = 0; slice < 3; slice += 1) {
        ourRates.push((await measureThroughput(url, seconds / 3, 0.2)).cyclesPerSecond);
        peerRates.push(await cyclesPerSecond(seconds / 3, peerCycle));
      }
      peer = await serverRequests(server, cycles, peerCycle);
    } finally {
      client.close();
    }
    const coord = { cyclesPerSecond: median(ourRates) };
    const peerRate = median(peerRates);
    const handoff = await measureHandoff(url, { waiters, coordinators: 10, rounds: 3 });
    const methods = (byMethod: Record<string, number>): string => Object.entries(byMethod).map(([m, n]) => `${m} ${fmt(n, 2)}`).join(', ');
    const rows: Row[] = [
      { metric: '(a) coord lock, uncontended acquire+release, cycles/s (median of 3 slices)', value: fmt(coord.cyclesPerSecond) },
      { metric: '    etcd3 Lock (peer), cycles/s (median of 3 slices, taking turns)', value: fmt(peerRate) },
      { metric: '    ratio coord / etcd3', value: fmt(coord.cyclesPerSecond / peerRate, 2) },
      { metric: '(b) etcd requests per cycle (server /metrics), coord', value: fmt(ours.total, 2), expected: '2.00' },
      { metric: `    by method: ${methods(ours.byMethod)}`, value: '' },
      { metric: '    etcd requests per cycle, etcd3 Lock (peer)', value: fmt(peer.total, 2) },
      { metric: `    by method: ${methods(peer.byMethod)}`, value: '' },
      { metric: '    ratio etcd3 / coord', value: fmt(peer.total / ours.total, 2) },
      { metric: '    driver requests per cycle (wrapper), coord', value: fmt(wrapper.perCycle, 2), expected: '2.00' },
      { metric: '    coord keep-alives/s (one session, not per lock; excluded)', value: fmt(ours.keepAlivesPerSecond, 2) },
      { metric: `(c) handoff: ${handoff.waiters} waiters on ${handoff.coordinators} sessions, x${handoff.rounds}`, value: '' },
      { metric: `    wake-ups per handoff (${handoff.wakeups}/${handoff.handoffs})`, value: fmt(handoff.wakeupsPerHandoff, 2), expected: '1.00' },
      { metric: '    driver requests per handoff', value: fmt(handoff.requestsPerHandoff, 2) },
      { metric: '    handoffs/s', value: fmt(handoff.handoffsPerSecond) },
    ];
    process.stdout.write(`${table(rows)}\n`);
    const json = {
      backend: 'etcd',
      cyclesPerSecond: Math.round(coord.cyclesPerSecond),
      peerCyclesPerSecond: Math.round(peerRate),
      serverRequestsPerCycle: round(ours.total),
      serverRequestsPerCycleByMethod: ours.byMethod,
      peerServerRequestsPerCycle: round(peer.total),
      peerServerRequestsPerCycleByMethod: peer.byMethod,
      peerRequestRatio: round(peer.total / ours.total),
      driverRequestsPerCycle: round(wrapper.perCycle),
      keepAlivesPerSecond: round(ours.keepAlivesPerSecond),
      handoffWaiters: handoff.waiters,
      wakeupsPerHandoff: round(handoff.wakeupsPerHandoff),
      requestsPerHandoff: round(handoff.requestsPerHandoff),
      handoffsPerSecond: Math.round(handoff.handoffsPerSecond),
    };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } finally {
    await server.stop();
  }
}

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, waiters: { type: 'string', default: '100' }, cycles: { type: 'string', default: '1000' } },
});
await run(Number(values.seconds), Number(values.waiters), Number(values.cycles));
