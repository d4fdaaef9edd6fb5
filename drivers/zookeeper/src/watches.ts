/**
 * Armed watches. ZooKeeper watches are one-shot and native: the C client calls the watcher
 * function given with the read when the node (or its child list) changes. Each read with
 * `watch` gets one {@link ArmedWatch} whose `changed` promise settles exactly once:
 * `changed` when the server reports the change, `session` when the session ends, or
 * `cancelled` when the caller's signal aborts.
 *
 * What an aborted watch leaves behind: the `zookeeper` package does not bind the C client's
 * `zoo_aremove_watches`, so a cancelled watch cannot be removed from the server. Its settle
 * function is dropped here at once (the caller's promise is settled and nothing of the
 * caller is referenced), but the server keeps one watch entry for that path and session
 * until the node changes (or, for a watch on a missing node, is created) or the session
 * ends. ZooKeeper keeps one entry per (path, session) however often it is armed, so repeated
 * waits on the same path do not accumulate; the C client keeps one small callback per armed
 * read until the watch fires or the handle is closed.
 */
import { oneShotWatch, type ManagedSession, type WatchEvent } from '@coord/core';
import { EventType, State, type NativeWatcher } from './native.js';

/** One armed watch. */
export interface ArmedWatch {
  /** Settles once; never rejects. */
  readonly changed: Promise<WatchEvent>;
  /** The native watcher to pass with the read (any number of reads may share it). */
  readonly watcher: NativeWatcher;
  /** Settles it now (`cancelled` when a read fails, so the caller sees no watch). */
  settle(event: WatchEvent): void;
  /** Whether it has settled. */
  readonly settled: boolean;
}

/**
 * Looks at a node event before it settles the watch; returns true to keep the watch armed
 * (the handler re-arms it itself).
 */
export type EventFilter = (type: number) => boolean;

/** The watches of one driver, so a session's end can settle them. */
export class WatchRegistry {
  readonly #armed = new Map<ArmedWatch, ManagedSession>();

  /** Arms a watch bound to `session`, cancelled when `signal` aborts. */
  arm(session: ManagedSession, signal: AbortSignal | undefined, filter?: EventFilter): ArmedWatch {
    const once = oneShotWatch(signal, () => this.#armed.delete(watch));
    const watcher: NativeWatcher = (type, state) => {
      // Connection state changes are delivered to every watcher; a watch survives a
      // reconnection (the C client re-registers it), so only a dead session ends it.
      if (type === EventType.SESSION) {
        if (state === State.EXPIRED || state === State.AUTH_FAILED) once.settle('session');
        return;
      }
      if (once.settled || filter?.(type) === true) return;
      once.settle('changed');
    };
    const watch: ArmedWatch = {
      changed: once.changed,
      watcher,
      settle: (event) => once.settle(event),
      get settled() {
        return once.settled;
      },
    };
    this.#armed.set(watch, session);
    return watch;
  }

  /** Settles every watch of `session` with `session` (it expired or was closed). */
  endSession(session: ManagedSession): void {
    for (const [watch, owner] of [...this.#armed]) if (owner === session) watch.settle('session');
  }
}
