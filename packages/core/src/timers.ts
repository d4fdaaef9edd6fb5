/**
 * Timers that honour any delay. A Node timer holds at most 2^31 - 1 ms (about 24.8 days):
 * a longer delay fires after 1 ms with a `TimeoutOverflowWarning`, which turned a long
 * `timeout` into an immediate `TIMEOUT`. {@link setLongTimeout} chains timers instead, so a
 * timeout of any length really waits that long; `Infinity` never fires (and holds no timer).
 */

/** The longest delay one Node timer can hold, in ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A running long timeout. */
export interface LongTimeout {
  /** Stops it (and the timer it holds). Idempotent. */
  cancel(): void;
}

/**
 * Calls `fn` once, after `ms` milliseconds (negative or NaN counts as 0; `Infinity` never),
 * chaining timers of at most {@link MAX_TIMER_MS} for longer delays. Only one timer is
 * live at a time, and none once it fired or was cancelled.
 * @example `const timer = setLongTimeout(expire, 30 * 24 * 3600_000); … timer.cancel();`
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const deadline = performance.now() + (Number.isNaN(ms) ? 0 : Math.max(0, ms));
  const arm = (): void => {
    const left = deadline - performance.now();
    if (left === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (cancelled) return;
      if (deadline - performance.now() > 0 && left > MAX_TIMER_MS) arm();
      else fn();
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
  };
  arm();
  return {
    cancel: (): void => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
