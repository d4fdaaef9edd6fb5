/** Small async helpers for the suite. */
import type { ErrorCode } from '@coord/core';
import { rejectedCoordError } from '@coord/testing';

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until true; throws with `what` after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await delay(5);
  }
}

/** The code of the CoordError a promise rejects with (fails if it resolves or rejects otherwise). */
export async function rejectionCode(promise: Promise<unknown>): Promise<ErrorCode> {
  return (await rejectedCoordError(promise)).code;
}

/** The code of a CoordError a function throws synchronously or asynchronously. */
export async function errorCode(fn: () => unknown): Promise<ErrorCode> {
  return rejectionCode((async () => fn())());
}
