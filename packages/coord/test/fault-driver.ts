// A pass-through driver that injects the faults a real backend produces and the memory
// driver never does: a reply lost after the server applied the request, a request that fails
// without being applied, a reply held until the test lets it go, and a delete whose reply is
// lost, which the driver then repeats or reports the way the Driver contract says. Shared by
// the recipe fault tests of this directory.
import {
  CoordError,
  sleep,
  type Capabilities,
  type ChildrenResult,
  type CreateOptions,
  type Driver,
  type GetResult,
  type NodeRef,
  type ReadOptions,
  type SequentialCreated,
  type Session,
  type SessionStateChange,
  type VersionOptions,
} from '@coord/core';
import type { MemoryDriver } from '@coord/memory';
import { connect, type Coordinator } from '../src/index.js';

/** A driver request, as the faults see it. */
export type Method = 'create' | 'createSequential' | 'get' | 'children' | 'set' | 'delete';

/** Which requests to disturb; every hook is asked on every request and may change over time. */
export interface Faults {
  /** Applies the request, then rejects with this error instead of its reply (a lost reply). */
  loseReply?: (method: Method, path: string) => CoordError | undefined;
  /** Rejects with this error without applying the request. */
  fail?: (method: Method, path: string) => CoordError | undefined;
  /** Applies the request, then holds its reply until the promise settles. */
  holdAfter?: (method: Method, path: string) => Promise<void> | undefined;
  /**
   * Deletes: applies the delete and loses its reply; then, as the Driver contract allows a
   * real driver, repeats it after this many ms if the call carried a `token` (returning the
   * repeat's answer), and otherwise rejects with `CONNECTION_LOSS`.
   */
  loseDeleteReply?: (path: string) => number | undefined;
}

/** The memory driver behind {@link Faults}. For `create` and `createSequential`, `path` is the node's path or the directory. */
export class FaultDriver implements Driver {
  readonly inner: MemoryDriver;
  faults: Faults;

  constructor(inner: MemoryDriver, faults: Faults = {}) {
    this.inner = inner;
    this.faults = faults;
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
    return this.#call('create', path, () => this.inner.create(path, data, options));
  }

  createSequential(dir: string, prefix: string, data: Uint8Array, options?: CreateOptions): Promise<SequentialCreated> {
    return this.#call('createSequential', dir, () => this.inner.createSequential(dir, prefix, data, options));
  }

  get(path: string, options?: ReadOptions): Promise<GetResult> {
    return this.#call('get', path, () => this.inner.get(path, options));
  }

  children(dir: string, options?: ReadOptions): Promise<ChildrenResult> {
    return this.#call('children', dir, () => this.inner.children(dir, options));
  }

  set(path: string, data: Uint8Array, options?: VersionOptions): Promise<number> {
    return this.#call('set', path, () => this.inner.set(path, data, options));
  }

  delete(path: string, options?: VersionOptions): Promise<boolean> {
    return this.#call('delete', path, async () => {
      const deleted = await this.inner.delete(path, options);
      const delay = this.faults.loseDeleteReply?.(path);
      if (delay === undefined) return deleted;
      if (options?.token === undefined) throw new CoordError('CONNECTION_LOSS', `injected: reply of delete ${path} lost, outcome unknown`);
      await sleep(delay);
      return this.inner.delete(path, options);
    });
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.inner.onSessionState(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #call<R>(method: Method, path: string, request: () => Promise<R>): Promise<R> {
    const failure = this.faults.fail?.(method, path);
    if (failure !== undefined) throw failure;
    const result = await request();
    const lost = this.faults.loseReply?.(method, path);
    if (lost !== undefined) throw lost;
    await this.faults.holdAfter?.(method, path);
    return result;
  }
}

/** A hook answering `error()` for the first request that matches, nothing afterwards. */
export function once(match: (method: Method, path: string) => boolean, error: () => CoordError): (method: Method, path: string) => CoordError | undefined {
  let done = false;
  return (method, path) => {
    if (done || !match(method, path)) return undefined;
    done = true;
    return error();
  };
}

/** The error of a request whose reply was lost: the caller cannot tell whether it was applied. */
export const connectionLoss = (): CoordError => new CoordError('CONNECTION_LOSS', 'injected: reply lost, outcome unknown');

/** The error of a request that did not reach the backend. */
export const unavailable = (): CoordError => new CoordError('UNAVAILABLE', 'injected: backend unreachable');

/** A coordinator over a {@link FaultDriver}. */
export interface FaultyCoordinator {
  readonly coord: Coordinator;
  readonly faults: FaultDriver;
  /** The memory driver underneath (fault hooks such as `expireSession`). */
  readonly memory: MemoryDriver;
}

/** Opens coordinators on one memory store and closes them all at the end of each test. */
export class FaultyCoordinators {
  readonly store: string;
  #open: Coordinator[] = [];

  constructor(store: string) {
    this.store = store;
  }

  async open(faults: Faults = {}, sessionTimeout = 5_000): Promise<FaultyCoordinator> {
    let wrapped: FaultDriver | undefined;
    const coord = await connect(`memory://${this.store}`, {
      sessionTimeout,
      wrapDriver: (driver) => (wrapped = new FaultDriver(driver as MemoryDriver, faults)),
    });
    this.#open.push(coord);
    const faulty = wrapped as FaultDriver;
    return { coord, faults: faulty, memory: faulty.inner };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((coord) => coord.close()));
  }
}
