/**
 * The fault proxies of {@link proxyTarget}, run on a worker thread of their own (this file is
 * the worker's entry point). A client's own thread can block: the ZooKeeper C client's
 * `zookeeper_close` waits up to 1.5 s on its socket for the server's answer to its close
 * request. A proxy on that same thread cannot forward the answer while it waits, so every
 * proxied close would take the full 1.5 s and freeze every other client of the test process
 * meanwhile. On its own thread the proxy forwards as a real network does.
 *
 * Protocol (see {@link ProxyThreadClient}): `open` and `close` are asynchronous messages
 * answered by id; a fault is a synchronous call — the caller posts it, then waits on a shared
 * word until this thread has applied it and written its results — so `net.blackhole()` has
 * taken effect on every connection when it returns, exactly as with an in-thread proxy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { Target } from './link.js';

/** A fault method of a proxy set, called synchronously. */
export type FaultOp = 'blackhole' | 'partition' | 'dropReplies' | 'loseNextReply' | 'delay' | 'reset' | 'heal' | 'stats';

/** Messages the owning thread sends. */
export type ProxyThreadRequest =
  | { readonly kind: 'open'; readonly id: number; readonly targets: readonly Target[] }
  | { readonly kind: 'close'; readonly id: number; readonly set: number }
  | { readonly kind: 'fault'; readonly set: number; readonly op: FaultOp; readonly ms: number };

/** Answers to `open` and `close`. */
export type ProxyThreadReply =
  | { readonly id: number; readonly ok: true; readonly set: number; readonly endpoints: readonly { host: string; port: number }[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** What the shared memory holds: the call state word and the results. */
export interface SharedChannel {
  /** `[state]`: {@link CALL_PENDING} while a fault call runs, then {@link CALL_DONE}. */
  readonly state: Int32Array;
  /** A fault call's results: one count, or the `stats` counters in {@link STATS_KEYS} order. */
  readonly results: Float64Array;
}

/** The `stats` counters, in the order a `stats` call writes them to the results. */
export const STATS_KEYS = ['accepted', 'bytesFromClients', 'bytesFromServer', 'droppedUp', 'droppedDown', 'lostReplies', 'resets'] as const;

export const CALL_PENDING = 0;
export const CALL_DONE = 1;
export const RESULT_SLOTS = 8;

/** Wraps the shared buffers of `workerData`. */
export function channelOf(buffers: { state: SharedArrayBuffer; results: SharedArrayBuffer }): SharedChannel {
  return { state: new Int32Array(buffers.state), results: new Float64Array(buffers.results) };
}

/** Applies one fault call to a set's proxies; returns the numbers to hand back. */
function applyFault(proxies: readonly FaultProxy[], op: FaultOp, ms: number): number[] {
  const sum = (fault: (proxy: FaultProxy) => number): number => proxies.reduce((total, proxy) => total + fault(proxy), 0);
  switch (op) {
    case 'loseNextReply':
      return [sum((proxy) => proxy.loseNextReply())];
    case 'reset':
      return [sum((proxy) => proxy.reset())];
    case 'stats': {
      const each = proxies.map((proxy) => proxy.stats);
      return STATS_KEYS.map((key) => each.reduce((total, stats) => total + stats[key], 0));
    }
    case 'delay':
      for (const proxy of proxies) proxy.delay(ms);
      return [];
    default:
      for (const proxy of proxies) proxy[op]();
      return [];
  }
}

/** The worker's side: owns the proxy sets and answers the owning thread. */
function serve(): void {
  const port = parentPort;
  if (port === null) throw new Error('proxy-thread.js is a worker entry point');
  const channel = channelOf(workerData as { state: SharedArrayBuffer; results: SharedArrayBuffer });
  const sets = new Map<number, FaultProxy[]>();
  let nextSet = 1;
  port.on('message', (request: ProxyThreadRequest) => {
    if (request.kind === 'fault') {
      const results = applyFault(sets.get(request.set) ?? [], request.op, request.ms);
      channel.results.fill(0);
      channel.results.set(results);
      Atomics.store(channel.state, 0, CALL_DONE);
      Atomics.notify(channel.state, 0);
      return;
    }
    void (async (): Promise<ProxyThreadReply> => {
      if (request.kind === 'close') {
        const proxies = sets.get(request.set) ?? [];
        sets.delete(request.set);
        await Promise.all(proxies.map((proxy) => proxy.close()));
        return { id: request.id, ok: true, set: request.set, endpoints: [] };
      }
      const proxies: FaultProxy[] = [];
      try {
        for (const target of request.targets) proxies.push(await startFaultProxy({ target }));
      } catch (error) {
        await Promise.all(proxies.map((proxy) => proxy.close()));
        return { id: request.id, ok: false, error: String(error) };
      }
      const set = nextSet++;
      sets.set(set, proxies);
      return { id: request.id, ok: true, set, endpoints: proxies.map(({ host, port: listening }) => ({ host, port: listening })) };
    })().then((reply) => port.postMessage(reply));
  });
}

if (parentPort !== null) serve();
