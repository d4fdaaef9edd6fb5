/**
 * A pass-through {@link Driver} that counts what goes through the one seam: requests by
 * method, watches armed, and watches that fired because something changed (the wake-ups).
 * Installed with `connect(url, { wrapDriver })`, so benchmarks measure the real public API
 * and see exactly what a backend would see.
 */
import type {
  Capabilities,
  ChildrenResult,
  CreateOptions,
  Driver,
  GetResult,
  NodeRef,
  ReadOptions,
  SequentialCreated,
  Session,
  SessionStateChange,
  VersionOptions,
  WatchEvent,
} from '@coord/core';

/** The driver methods that are requests to the backend. */
export const REQUEST_METHODS = ['create', 'createSequential', 'get', 'children', 'set', 'delete'] as const;

/** A request method name. */
export type RequestMethod = (typeof REQUEST_METHODS)[number];

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
export class CountingDriver implements Driver {
  /** The wrapped driver (e.g. to reach the memory store for a cross-check). */
  readonly inner: Driver;
  /** The counters this driver adds to. */
  readonly counts: Counts;

  constructor(inner: Driver, counts: Counts = newCounts()) {
    this.inner = inner;
    this.counts = counts;
  }

  get name(): Driver['name'] {
    return this.inner.name;
  }

  get capabilities(): Capabilities {
    return this.inner.capabilities;
  }

  get session(): Session {
    return this.inner.session;
  }

  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<NodeRef> {
    this.counts.create += 1;
    return this.inner.create(path, data, options);
  }

  createSequential(dir: string, prefix: string, data: Uint8Array, options?: CreateOptions): Promise<SequentialCreated> {
    this.counts.createSequential += 1;
    return this.inner.createSequential(dir, prefix, data, options);
  }

  get(path: string, options?: ReadOptions): Promise<GetResult> {
    this.counts.get += 1;
    return this.inner.get(path, options).then((result) => this.#track(result));
  }

  children(dir: string, options?: ReadOptions): Promise<ChildrenResult> {
    this.counts.children += 1;
    return this.inner.children(dir, options).then((result) => this.#track(result));
  }

  set(path: string, data: Uint8Array, options?: VersionOptions): Promise<number> {
    this.counts.set += 1;
    return this.inner.set(path, data, options);
  }

  delete(path: string, options?: VersionOptions): Promise<boolean> {
    this.counts.delete += 1;
    return this.inner.delete(path, options);
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.inner.onSessionState(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Counts the watch of a read; the caller gets the same result (and promise) unchanged. */
  #track<R extends { readonly changed?: Promise<WatchEvent> }>(result: R): R {
    if (result.changed !== undefined) {
      this.counts.watchesArmed += 1;
      this.counts.watchesPending += 1;
      // `changed` never rejects (driver contract), so this adds no unhandled rejection.
      void result.changed.then((event) => {
        this.counts.watchesPending -= 1;
        if (event === 'changed') this.counts.wakeups += 1;
      });
    }
    return result;
  }
}
