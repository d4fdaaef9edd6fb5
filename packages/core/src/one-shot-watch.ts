/**
 * The settle-once part of every driver's watches, written once. A driver arms a watch with a
 * read; the watch's `changed` promise then settles exactly once — `changed` when the backend
 * reports a change, `session` when the session ends, `cancelled` when the caller's signal
 * aborts — and whatever settles it first wins. Settling removes the abort callback and runs
 * the driver's own clean-up (unsubscribe, forget the watch), so a settled watch holds nothing.
 * (docs/design.md D5: a watch fires at most once, and an abandoned one leaves nothing behind.)
 */
import { onAbort } from './abort-listeners.js';
import type { WatchEvent } from './driver.js';

/** One armed watch. */
export interface OneShotWatch {
  /** Settles once, with the first event; never rejects. */
  readonly changed: Promise<WatchEvent>;
  /** Whether it has settled. */
  readonly settled: boolean;
  /** Settles it now with `event` (no-op once settled). */
  settle(event: WatchEvent): void;
}

/**
 * Arms a one-shot watch: cancelled when `signal` aborts (at once if it already has); on
 * settling, `cleanup` runs once, before `changed` resolves.
 * @example
 * ```ts
 * const watch = oneShotWatch(signal, () => this.#armed.delete(watch));
 * this.#armed.add(watch);
 * return { ...result, changed: watch.changed };
 * ```
 */
export function oneShotWatch(signal: AbortSignal | undefined, cleanup?: (event: WatchEvent) => void): OneShotWatch {
  let resolve!: (event: WatchEvent) => void;
  const changed = new Promise<WatchEvent>((r) => (resolve = r));
  let settled = false;
  let detach: () => void = () => undefined;
  const watch: OneShotWatch = {
    changed,
    get settled() {
      return settled;
    },
    settle(event) {
      if (settled) return;
      settled = true;
      detach();
      cleanup?.(event);
      resolve(event);
    },
  };
  if (signal?.aborted === true) {
    // Settled after the caller has the watch in hand (a cleanup may refer to it).
    queueMicrotask(() => watch.settle('cancelled'));
  } else if (signal !== undefined) {
    detach = onAbort(signal, () => watch.settle('cancelled'));
  }
  return watch;
}

/**
 * Whether a write whose reply was lost may be sent again (docs/design.md D7): `always` for
 * reads and for writes that are safe to repeat (conditioned on a token, or recovered by
 * name), `never-once-sent` for a write that may have been applied and must not be applied
 * twice — the caller then gets `CONNECTION_LOSS` (outcome unknown).
 */
export type RepeatPolicy = 'always' | 'never-once-sent';

/** The contract's rule for `set` and `delete`: they repeat only when conditioned on a `token`. */
export function repeatPolicyOf(options: { readonly token?: bigint | undefined }): RepeatPolicy {
  return options.token === undefined ? 'never-once-sent' : 'always';
}
