/**
 * A pass-through {@link Driver} that counts what goes through the one seam: requests by
 * method, watches armed, and watches that fired because something changed (the wake-ups).
 * Installed with `connect(url, { wrapDriver })`, so benchmarks measure the real public API
 * and see exactly what a backend would see.
 */
import type { Driver, WatchEvent } from '@coord/core';
import { ForwardingDriver, REQUEST_METHODS, type RequestMethod } from './forwarding-driver.js';

export { REQUEST_METHODS, type RequestMethod };

/** Counters, shared by every {@link CountingDriver} given the same object. */
export interface Counts extends Record<RequestMethod, number> {
  /** Reads that came back with a `changed` promise. */
  watchesArmed: number;
  /** Watches armed whose `changed` has not resolved yet (fired, cancelled or session end): live watches. */
  watchesPending: number;
  /** `changed` promises that resolved with `'changed'` (not cancelled, not session end). */
  wakeups: number;
}

/** Fresh zeroed counters. */
export function newCounts(): Counts {
  return { create: 0, createSequential: 0, get: 0, children: 0, set: 0, delete: 0, watchesArmed: 0, watchesPending: 0, wakeups: 0 };
}

/** Total requests in `counts`. */
export function totalRequests(counts: Counts): number {
  return REQUEST_METHODS.reduce((sum, method) => sum + counts[method], 0);
}

/** `after - before`, field by field. */
export function diffCounts(after: Counts, before: Counts): Counts {
  const out = newCounts();
  for (const key of Object.keys(out) as (keyof Counts)[]) out[key] = after[key] - before[key];
  return out;
}

/**
 * Wraps a driver and counts its traffic into `counts`.
 * @example
 * ```ts
 * const counts = newCounts();
 * const coord = await connect(url, { wrapDriver: (d) => new CountingDriver(d, counts) });
 * ```
 */
export class CountingDriver extends ForwardingDriver {
  /** The counters this driver adds to. */
  readonly counts: Counts;

  constructor(inner: Driver, counts: Counts = newCounts()) {
    super(inner);
    this.counts = counts;
  }

  /** Counts the request; reads also count their watch. The caller gets the inner driver's promise (or, for reads, one with the same outcome). */
  protected override forward<R>(method: RequestMethod, target: string, request: () => Promise<R>): Promise<R> {
    this.counts[method] += 1;
    const reply = request();
    return method === 'get' || method === 'children' ? reply.then((result) => this.#track(result)) : reply;
  }

  /** Counts the watch of a read; the caller gets the same result (and promise) unchanged. */
  #track<R>(result: R): R {
    // Only called for get/children, whose results carry `changed` when a watch was armed.
    const { changed } = result as { readonly changed?: Promise<WatchEvent> };
    if (changed !== undefined) {
      this.counts.watchesArmed += 1;
      this.counts.watchesPending += 1;
      // `changed` never rejects (driver contract), so this adds no unhandled rejection.
      void changed.then((event) => {
        this.counts.watchesPending -= 1;
        if (event === 'changed') this.counts.wakeups += 1;
      });
    }
    return result;
  }
}
