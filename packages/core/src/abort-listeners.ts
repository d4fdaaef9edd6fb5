/**
 * One `abort` listener per signal, however many waiters. Every timed wait and every held
 * lease watches its session's signal (and often the caller's); a listener each made Node
 * print `MaxListenersExceededWarning` past ten, and cost a listener per waiter on a signal
 * that lives as long as the session. {@link onAbort} keeps one real listener per signal and
 * fans out to a set of callbacks, removed as each waiter ends.
 */
import { callListener } from './listeners.js';

/** The callbacks on one signal, and the one listener that runs them. */
interface Entry {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const registry = new WeakMap<AbortSignal, Entry>();

/** Runs each callback; one that throws does not stop the others (reported as listeners' errors are). */
function dispatch(signal: AbortSignal, entry: Entry): void {
  if (registry.get(signal) === entry) registry.delete(signal);
  const callbacks = [...entry.callbacks];
  entry.callbacks.clear();
  for (const callback of callbacks) {
    callListener(callback, [], 'abort callback');
  }
}

/**
 * Calls `callback` once when `signal` aborts (never if it already has: check `aborted`
 * first), sharing one `abort` listener among every callback on that signal. Returns the
 * function that removes it (idempotent); the signal's listener goes with the last callback.
 * @example `const off = onAbort(session.signal, () => controller.abort()); … off();`
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) return () => undefined;
  let entry = registry.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const created: Entry = { callbacks, listener: () => dispatch(signal, created) };
    entry = created;
    registry.set(signal, created);
    signal.addEventListener('abort', created.listener, { once: true });
  }
  const own = (): void => callback();
  const mine = entry;
  mine.callbacks.add(own);
  return (): void => {
    if (!mine.callbacks.delete(own) || mine.callbacks.size > 0 || registry.get(signal) !== mine) return;
    registry.delete(signal);
    signal.removeEventListener('abort', mine.listener);
  };
}
