/**
 * Listener sets for driver events (session state changes): one listener's exception must
 * neither stop the others nor break the bookkeeping of the code that emits, so it is rethrown
 * on a microtask — where it surfaces as an uncaught exception, as from an EventEmitter.
 */

/** A set of listeners, called in the order they were added. */
export class ListenerSet<A extends unknown[]> {
  readonly #listeners = new Set<(...args: A) => void>();

  /** Adds `listener`; returns the function that removes it. */
  add(listener: (...args: A) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls every listener with `args`; a listener that throws is reported on a microtask. */
  emit(...args: A): void {
    for (const listener of this.#listeners) {
      try {
        listener(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
