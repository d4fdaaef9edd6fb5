/**
 * Argument checks shared by recipes that take a size (a semaphore's permits, a double
 * barrier's count): every client must agree on it, so a malformed one fails before any I/O.
 */
import { CoordError } from '@coord/core';

/**
 * `value` as a positive safe integer.
 * @param what for the message: the recipe, e.g. `semaphore /render`
 * @param name for the message: the option, e.g. `permits`
 * @throws CoordError `INVALID_ARGUMENT` for anything else.
 */
export function positiveCount(value: unknown, what: string, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CoordError('INVALID_ARGUMENT', `${what}: ${name} must be a positive safe integer, got ${String(value)}`);
  }
  return value;
}
