import { describe, expect, it } from '@jest/globals';
import { CoordError } from '@coord/core';
import { toCoordError } from '../src/errors.js';
import { Code } from '../src/native.js';

const context = { url: 'zookeeper://alice:***@h1:2181/app', what: 'create /a' };

describe('toCoordError', () => {
  it.each([
    [Code.CONNECTION_LOSS, 'CONNECTION_LOSS', true],
    [Code.OPERATION_TIMEOUT, 'CONNECTION_LOSS', true],
    [Code.NO_NODE, 'NO_NODE', false],
    [Code.NODE_EXISTS, 'NODE_EXISTS', false],
    [Code.BAD_VERSION, 'BAD_VERSION', false],
    [Code.NOT_EMPTY, 'NOT_EMPTY', false],
    [Code.NO_AUTH, 'AUTH_FAILED', false],
    [Code.AUTH_FAILED, 'AUTH_FAILED', false],
    [Code.SESSION_EXPIRED, 'SESSION_EXPIRED', false],
    [Code.SESSION_MOVED, 'SESSION_EXPIRED', false],
    [Code.INVALID_STATE, 'SESSION_EXPIRED', false],
    [Code.CLOSING, 'CLOSED', false],
    [Code.NO_CHILDREN_FOR_EPHEMERALS, 'INVALID_ARGUMENT', false],
    [Code.MARSHALLING_ERROR, 'PAYLOAD_TOO_LARGE', false],
    [Code.THROTTLED, 'UNAVAILABLE', true],
    [Code.NOT_READ_ONLY, 'UNAVAILABLE', true],
    [-999, 'INTERNAL', false],
  ])('maps return code %i to %s', (rc, code, retryable) => {
    const error = toCoordError(rc, context);
    expect(error).toBeInstanceOf(CoordError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain('zookeeper zookeeper://alice:***@h1:2181/app: create /a');
    expect(error.message).toContain(`(${rc})`);
  });

  it('passes a CoordError through and wraps anything else as INTERNAL', () => {
    const original = new CoordError('TIMEOUT', 'late');
    expect(toCoordError(original, context)).toBe(original);
    const wrapped = toCoordError(new Error('boom'), context);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toContain('boom');
    expect(toCoordError('odd', context).code).toBe('INTERNAL');
  });
});
