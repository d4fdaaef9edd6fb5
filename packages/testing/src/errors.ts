/**
 * Catching the `CoordError` a call fails with, for tests of any runner: each helper returns
 * the error, or throws a plain Error explaining what happened instead.
 */
import { isCoordError, type CoordError } from '@coord/core';

function notCoordError(error: unknown): Error {
  return new Error(`expected a CoordError, got ${String(error)}`, { cause: error });
}

/**
 * The CoordError `fn` throws synchronously.
 * @example `expect(thrownCoordError(() => validatePath('x')).code).toBe('INVALID_ARGUMENT')`
 * @throws Error if `fn` returns, or throws something that is not a CoordError.
 */
export function thrownCoordError(fn: () => unknown): CoordError {
  try {
    fn();
  } catch (error) {
    if (isCoordError(error)) return error;
    throw notCoordError(error);
  }
  throw new Error('expected a CoordError, nothing was thrown');
}

/**
 * The CoordError `promise` rejects with.
 * @example `expect((await rejectedCoordError(lock.acquire({ timeout: 10 }))).code).toBe('TIMEOUT')`
 * @throws Error if `promise` resolves, or rejects with something that is not a CoordError.
 */
export async function rejectedCoordError(promise: Promise<unknown>): Promise<CoordError> {
  try {
    await promise;
  } catch (error) {
    if (isCoordError(error)) return error;
    throw notCoordError(error);
  }
  throw new Error('expected a rejection, but the promise resolved');
}
