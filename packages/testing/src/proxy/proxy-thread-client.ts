/**
 * The owning side of the proxy thread (see `proxy-thread.ts`): one worker shared by every
 * {@link proxyTarget} of the process, started on first use and stopped when its last proxy
 * set closes, so no thread outlives the tests that used it.
 */
import { Worker } from 'node:worker_threads';
import type { FaultProxyStats } from './fault-proxy.js';
import type { Target } from './link.js';
import {
  CALL_DONE,
  CALL_PENDING,
  RESULT_SLOTS,
  STATS_KEYS,
  channelOf,
  type FaultOp,
  type ProxyThreadReply,
  type ProxyThreadRequest,
  type SharedChannel,
} from './proxy-thread.js';

/** How long a synchronous fault call may wait for the proxy thread before it is a bug. */
const FAULT_CALL_TIMEOUT_MS = 10_000;

/** A proxy listening on the proxy thread. */
export interface ProxyEndpoint {
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 hosts in brackets). */
  readonly address: string;
}

/** One running proxy thread. */
class ProxyThreadClient {
  readonly #worker: Worker;
  readonly #channel: SharedChannel;
  readonly #pending = new Map<number, { resolve: (reply: ProxyThreadReply) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #sets = 0;
  #failure: Error | undefined;

  constructor() {
    const buffers = {
      state: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      results: new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * RESULT_SLOTS),
    };
    this.#channel = channelOf(buffers);
    this.#worker = new Worker(new URL('./proxy-thread.js', import.meta.url), { workerData: buffers });
    // The proxies' sockets keep the worker's loop alive, never the owning process's.
    this.#worker.unref();
    this.#worker.on('message', (reply: ProxyThreadReply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    const fail = (error: Error): void => {
      this.#failure ??= error;
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
      if (current === this) current = undefined;
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`fault proxy thread exited (code ${code})`)));
  }

  /** Starts one proxy per target on the thread; returns the set's id and endpoints. */
  async open(targets: readonly Target[]): Promise<{ set: number; endpoints: ProxyEndpoint[] }> {
    this.#sets += 1;
    try {
      const reply = await this.#request({ kind: 'open', id: this.#nextId++, targets });
      if (!reply.ok) throw new Error(`fault proxy: ${reply.error}`);
      const endpoints = reply.endpoints.map(({ host, port }) => ({ host, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` }));
      return { set: reply.set, endpoints };
    } catch (error) {
      await this.#released();
      throw error;
    }
  }

  /** Closes a set's proxies (resets their connections); stops the thread after its last set. */
  async close(set: number): Promise<void> {
    try {
      await this.#request({ kind: 'close', id: this.#nextId++, set });
    } finally {
      await this.#released();
    }
  }

  /**
   * Applies a fault to a set's proxies and returns once the thread has applied it: the
   * owning thread waits (`Atomics.wait`) for the answer, as a call to an in-thread proxy
   * would have returned after applying it.
   * @returns the call's numbers (a count, or the stats counters).
   */
  fault(set: number, op: FaultOp, ms = 0): number[] {
    if (this.#failure !== undefined) throw this.#failure;
    const { state, results } = this.#channel;
    Atomics.store(state, 0, CALL_PENDING);
    this.#worker.postMessage({ kind: 'fault', set, op, ms } satisfies ProxyThreadRequest);
    if (Atomics.wait(state, 0, CALL_PENDING, FAULT_CALL_TIMEOUT_MS) === 'timed-out' && Atomics.load(state, 0) !== CALL_DONE) {
      throw new Error(`fault proxy thread did not apply ${op} within ${FAULT_CALL_TIMEOUT_MS} ms`);
    }
    return Array.from(results);
  }

  #request(request: ProxyThreadRequest & { id: number }): Promise<ProxyThreadReply> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject });
      this.#worker.postMessage(request);
    });
  }

  async #released(): Promise<void> {
    this.#sets -= 1;
    if (this.#sets > 0) return;
    if (current === this) current = undefined;
    await this.#worker.terminate();
  }
}

let current: ProxyThreadClient | undefined;

/** The process's proxy thread, started if none runs. */
export function proxyThread(): ProxyThreadClient {
  current ??= new ProxyThreadClient();
  return current;
}

/** {@link FaultProxyStats} from the numbers a `stats` call returns ({@link STATS_KEYS} order; missing ones are 0). */
export function statsOf(numbers: readonly number[]): FaultProxyStats {
  return Object.fromEntries(STATS_KEYS.map((key, index) => [key, numbers[index] ?? 0])) as Record<(typeof STATS_KEYS)[number], number>;
}
