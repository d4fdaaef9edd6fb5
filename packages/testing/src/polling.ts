/**
 * Waiting for a condition in tests and benchmarks, where no event announces it (e.g. "every
 * waiter has queued"). Recipes never poll; only their observers do.
 */

/**
 * Polls `condition` every `intervalMs` until it holds.
 * @example `await eventually(async () => (await driver.children(dir)).nodes.length === 3, 'three queued');`
 * @throws Error naming `what` if it does not hold within `ms`.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 5_000,
  intervalMs = 5,
): Promise<void> {
  const until = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves once `signal` aborts, or after `ms` — the caller's own assertions then tell which.
 * Leaves no timer or listener behind either way.
 */
export function untilAborted(signal: AbortSignal, ms: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
