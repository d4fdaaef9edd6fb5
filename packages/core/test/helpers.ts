// Assertions shared by the core unit tests.
import { expect } from '@jest/globals';
import { isCoordError, type CoordError } from '../src/errors.js';

/** The CoordError `fn` throws synchronously (fails the test if it throws nothing or something else). */
export function thrown(fn: () => unknown): CoordError {
  try {
    fn();
  } catch (error) {
    expect(isCoordError(error)).toBe(true);
    return error as CoordError;
  }
  throw new Error('expected a CoordError, nothing was thrown');
}

/** The CoordError `promise` rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<CoordError> {
  try {
    await promise;
  } catch (error) {
    expect(isCoordError(error)).toBe(true);
    return error as CoordError;
  }
  throw new Error('expected a rejection');
}
