/** Small async helpers for the suite. */
import type { ErrorCode } from '@coord/core';
import { rejectedCoordError } from '@coord/testing';

export { sleep as delay } from '@coord/core';
export { eventually } from '@coord/testing';

/** The code of the CoordError a promise rejects with (fails if it resolves or rejects otherwise). */
export async function rejectionCode(promise: Promise<unknown>): Promise<ErrorCode> {
  return (await rejectedCoordError(promise)).code;
}

/** The code of a CoordError a function throws synchronously or asynchronously. */
export async function errorCode(fn: () => unknown): Promise<ErrorCode> {
  return rejectionCode((async () => fn())());
}

/**
 * Marks a promise the test awaits later as handled, so a test that fails before awaiting it
 * reports its assertion instead of crashing the run with an unhandled rejection.
 */
export function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
