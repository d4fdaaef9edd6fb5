/**
 * The vocabulary every driver's session keeper shares. A driver has three rooms:
 * `driver.ts` the node operations, `watches.ts` the watch hub, and `session.ts` a class
 * `SessionKeeper` that opens, renews and replaces the driver's sessions:
 * - `current` — the current {@link ManagedSession} (after an expiry, the fresh one from the
 *   moment it is being opened; it reports `expired` → `connected` once it is usable);
 * - `start(…)` — opens the first session (within the connect call's deadline);
 * - `close()` — stops renewing and ends the current session on the server if it can;
 * - `#lost(session, why)` — the one place a session ends: it is expired (its signal aborts),
 *   the driver hears of it through {@link SessionEvents.onEnded}, and the keeper's own reopen
 *   loop ({@link retryUntilOpen}) opens the next one in the background.
 * (docs/design.md D6.)
 */
import type { SessionStateChange } from './driver.js';
import type { ManagedSession } from './session.js';
import { sleep } from './signals.js';

/** What a driver's `SessionKeeper` tells its driver. */
export interface SessionEvents {
  /** Every state transition of every session (the driver forwards the current one's to its listeners). */
  onChange(change: SessionStateChange): void;
  /** A session ended (expired or closed): settle what was bound to it (its watches). */
  onEnded(session: ManagedSession): void;
}

/** How a reopen loop waits between two failed tries: doubling from `firstMs` up to `maxMs`. */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/**
 * The reopen loop, written once: calls `open` until it resolves, waiting between failures
 * (doubling, see {@link Backoff}), until `stop` aborts — then it rejects with `stop`'s
 * reason (a resolved `open` after `stop` aborted is handed to `discard`, so nothing it
 * opened outlives the keeper).
 */
export async function retryUntilOpen<T>(open: () => Promise<T>, stop: AbortSignal, backoff: Backoff, discard?: (opened: T) => void): Promise<T> {
  for (let wait = backoff.firstMs; ; wait = Math.min(wait * 2, backoff.maxMs)) {
    stop.throwIfAborted();
    try {
      const opened = await open();
      if (stop.aborted) {
        discard?.(opened);
        stop.throwIfAborted();
      }
      return opened;
    } catch (error) {
      if (stop.aborted) throw stop.reason;
      await sleep(wait, stop).catch(() => undefined);
    }
  }
}
