/**
 * The memory driver's watch hub: every armed watch with its session, so a session's end
 * settles them (`session`). The store fires a watch synchronously on the change; core's
 * one-shot watch makes it settle once and unregisters it from the store when it does.
 */
import { oneShotWatch, type ManagedSession, type WatchEvent } from '@coord/core';

/** What the store calls when a watched node or child list changes. */
export interface StoreWatcher {
  fire(event: WatchEvent): void;
}

/** The armed watches of one driver. */
export class WatchHub {
  readonly #armed = new Map<(event: WatchEvent) => void, ManagedSession>();

  /**
   * Arms a watch for `session`, registered with the store by `register` (which returns how to
   * unregister it); cancelled when `signal` aborts.
   */
  arm(session: ManagedSession, signal: AbortSignal | undefined, register: (watcher: StoreWatcher) => () => void): Promise<WatchEvent> {
    const watch = oneShotWatch(signal, () => {
      disarm();
      this.#armed.delete(settle);
    });
    const settle = (event: WatchEvent): void => watch.settle(event);
    const disarm = register({ fire: settle });
    this.#armed.set(settle, session);
    return watch.changed;
  }

  /** Settles every watch of `session` with `session` (it expired or was closed). */
  endSession(session: ManagedSession): void {
    for (const [settle, owner] of [...this.#armed]) if (owner === session) settle('session');
  }
}
