/**
 * A driver wrapper that counts requests and watch firings, so the suite can check round
 * trips and "one release wakes one waiter" on every backend, from the client side.
 */
import type {
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

/** Counters of one wrapped driver. */
export interface DriverCounters {
  /** Requests by method name. */
  readonly requests: Record<string, number>;
  /** Watches that resolved because something changed (wake-ups). */
  watchFirings: number;
}

/** Wraps a driver, counting what it does; `inner` is the wrapped driver (for fault hooks). */
export class CountingDriver implements Driver {
  readonly inner: Driver;
  readonly counters: DriverCounters = { requests: {}, watchFirings: 0 };

  constructor(inner: Driver) {
    this.inner = inner;
  }

  get name(): Driver['name'] {
    return this.inner.name;
  }

  get capabilities(): Driver['capabilities'] {
    return this.inner.capabilities;
  }

  get session(): Session {
    return this.inner.session;
  }

  /** Total requests of every kind. */
  get totalRequests(): number {
    return Object.values(this.counters.requests).reduce((sum, n) => sum + n, 0);
  }

  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<NodeRef> {
    this.#count('create');
    return this.inner.create(path, data, options);
  }

  createSequential(dir: string, prefix: string, data: Uint8Array, options?: CreateOptions): Promise<SequentialCreated> {
    this.#count('createSequential');
    return this.inner.createSequential(dir, prefix, data, options);
  }

  async get(path: string, options?: ReadOptions): Promise<GetResult> {
    this.#count('get');
    const result = await this.inner.get(path, options);
    return result.changed === undefined ? result : { ...result, changed: this.#observe(result.changed) };
  }

  async children(dir: string, options?: ReadOptions): Promise<ChildrenResult> {
    this.#count('children');
    const result = await this.inner.children(dir, options);
    return result.changed === undefined ? result : { ...result, changed: this.#observe(result.changed) };
  }

  set(path: string, data: Uint8Array, options?: VersionOptions): Promise<number> {
    this.#count('set');
    return this.inner.set(path, data, options);
  }

  delete(path: string, options?: VersionOptions): Promise<boolean> {
    this.#count('delete');
    return this.inner.delete(path, options);
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.inner.onSessionState(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #count(method: string): void {
    this.counters.requests[method] = (this.counters.requests[method] ?? 0) + 1;
  }

  #observe(changed: Promise<WatchEvent>): Promise<WatchEvent> {
    return changed.then((event) => {
      if (event === 'changed') this.counters.watchFirings += 1;
      return event;
    });
  }
}
