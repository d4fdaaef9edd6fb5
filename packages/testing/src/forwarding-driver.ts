/**
 * A {@link Driver} that passes every call to another driver, with one seam for subclasses:
 * each request (the six methods that talk to the backend) goes through
 * {@link ForwardingDriver.forward}. The name, capabilities, session, session-state
 * subscriptions and `close` are the inner driver's, unchanged. `CountingDriver` and
 * `FaultDriver` are built on it; so can your own wrappers (logging, latency, ...).
 */
import type {
  ChildrenResult,
  Capabilities,
  CreateOptions,
  Driver,
  GetResult,
  NodeRef,
  ReadOptions,
  SequentialCreated,
  Session,
  SessionStateChange,
  VersionOptions,
} from '@coord/core';

/** The driver methods that are requests to the backend. */
export const REQUEST_METHODS = ['create', 'createSequential', 'get', 'children', 'set', 'delete'] as const;

/** A request method name. */
export type RequestMethod = (typeof REQUEST_METHODS)[number];

/**
 * Forwards everything to `inner`; override {@link ForwardingDriver.forward} to see, change or
 * replace requests. Used as is, it is a transparent pass-through.
 * @example
 * ```ts
 * class LoggingDriver extends ForwardingDriver {
 *   protected override forward<R>(method: RequestMethod, target: string, request: () => Promise<R>): Promise<R> {
 *     console.log(method, target);
 *     return request();
 *   }
 * }
 * const coord = await connect(url, { wrapDriver: (d) => new LoggingDriver(d) });
 * ```
 */
export class ForwardingDriver<D extends Driver = Driver> implements Driver {
  /** The wrapped driver. */
  readonly inner: D;

  constructor(inner: D) {
    this.inner = inner;
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
    return this.forward('create', path, () => this.inner.create(path, data, options));
  }

  createSequential(dir: string, prefix: string, data: Uint8Array, options?: CreateOptions): Promise<SequentialCreated> {
    return this.forward('createSequential', dir, () => this.inner.createSequential(dir, prefix, data, options));
  }

  get(path: string, options?: ReadOptions): Promise<GetResult> {
    return this.forward('get', path, () => this.inner.get(path, options));
  }

  children(dir: string, options?: ReadOptions): Promise<ChildrenResult> {
    return this.forward('children', dir, () => this.inner.children(dir, options));
  }

  set(path: string, data: Uint8Array, options?: VersionOptions): Promise<number> {
    return this.forward('set', path, () => this.inner.set(path, data, options));
  }

  delete(path: string, options?: VersionOptions): Promise<boolean> {
    return this.forward('delete', path, () => this.inner.delete(path, options));
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.inner.onSessionState(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Every request passes here. `target` is the node's path, or the directory for
   * `createSequential` and `children`; `request()` sends it to the inner driver (call it
   * once, several times, or not at all). The default just calls it.
   */
  protected forward<R>(_method: RequestMethod, _target: string, request: () => Promise<R>): Promise<R> {
    return request();
  }
}
