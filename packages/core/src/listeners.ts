/**
 * Listener sets for events (session state changes). One listener's exception must neither
 * stop the others nor break the bookkeeping of the code that emits, nor crash the process:
 * it is contained and reported with `process.emitWarning` (a `CoordListenerWarning`), never
 * rethrown as an uncaught exception.
 */
import { checkCallback } from './validate.js';

/**
 * Reports an exception a user callback (a listener, `onRejoin`) threw, as a process warning
 * of type `CoordListenerWarning` with code `COORD_LISTENER_ERROR`; never throws.
 * @param what for the message: whose callback, e.g. `coord.on('state') listener`
 */
export function reportListenerError(error: unknown, what: string): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const detail = error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined;
  try {
    process.emitWarning(`${what} threw: ${message}`, {
      type: 'CoordListenerWarning',
      code: 'COORD_LISTENER_ERROR',
      ...(detail === undefined ? {} : { detail }),
    });
  } catch {
    // A warning listener that throws is the process's own problem, not the emitter's.
  }
}

/**
 * Calls `listener(...args)`, containing an exception it throws (reported as a warning).
 * @returns whether it returned normally.
 */
export function callListener<A extends unknown[]>(listener: (...args: A) => void, args: A, what: string): boolean {
  try {
    listener(...args);
    return true;
  } catch (error) {
    reportListenerError(error, what);
    return false;
  }
}

/** A set of listeners, called in the order they were added. */
export class ListenerSet<A extends unknown[]> {
  readonly #listeners = new Set<(...args: A) => void>();
  readonly #what: string;

  /** @param what for warnings: whose listeners, e.g. `session state listener` */
  constructor(what = 'listener') {
    this.#what = what;
  }

  /**
   * Adds `listener`; returns the function that removes it.
   * @throws CoordError `INVALID_ARGUMENT` unless `listener` is a function.
   */
  add(listener: (...args: A) => void): () => void {
    checkCallback(listener, this.#what, 'listener');
    this.#listeners.add(listener);
    return () => this.delete(listener);
  }

  /** Removes `listener` (no-op if it is not there). */
  delete(listener: (...args: A) => void): void {
    this.#listeners.delete(listener);
  }

  /** Calls every listener with `args`; a listener that throws is reported as a warning. */
  emit(...args: A): void {
    for (const listener of [...this.#listeners]) callListener(listener, args, this.#what);
  }
}
