import { describe, it, expect } from '@jest/globals';
import { CoordError, ErrorCode, isCoordError } from '../src/errors.js';

const ALL_CODES = Object.values(ErrorCode);
const RETRYABLE_CODES: readonly ErrorCode[] = ['UNAVAILABLE', 'CONNECTION_LOSS', 'TIMEOUT'];

describe('ErrorCode', () => {
  it('maps every key to itself', () => {
    for (const [key, value] of Object.entries(ErrorCode)) expect(value).toBe(key);
  });
});

describe('CoordError', () => {
  it('is an Error with name, code and message', () => {
    const e = new CoordError('NO_NODE', '/a does not exist');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(CoordError);
    expect(e.name).toBe('CoordError');
    expect(e.code).toBe('NO_NODE');
    expect(e.message).toBe('/a does not exist');
    expect(typeof e.stack).toBe('string');
    expect(String(e)).toBe('CoordError: /a does not exist');
  });

  it.each(RETRYABLE_CODES)('%s is retryable by default', (code) => {
    expect(new CoordError(code, 'x').retryable).toBe(true);
  });

  it('every other code is not retryable by default', () => {
    const others = ALL_CODES.filter((c) => !RETRYABLE_CODES.includes(c));
    expect(others.length).toBe(ALL_CODES.length - 3);
    for (const code of others) expect(new CoordError(code, 'x').retryable).toBe(false);
  });

  it('retryable can be overridden both ways', () => {
    expect(new CoordError('TIMEOUT', 'x', { retryable: false }).retryable).toBe(false);
    expect(new CoordError('UNAVAILABLE', 'x', { retryable: false }).retryable).toBe(false);
    expect(new CoordError('NO_NODE', 'x', { retryable: true }).retryable).toBe(true);
    expect(new CoordError('INTERNAL', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('carries a cause when given one', () => {
    const cause = new Error('socket hang up');
    const e = new CoordError('CONNECTION_LOSS', 'lost', { cause });
    expect(e.cause).toBe(cause);
    // Non-Error causes are kept as they are.
    expect(new CoordError('ABORTED', 'x', { cause: 'user reason' }).cause).toBe('user reason');
    expect(new CoordError('ABORTED', 'x', { cause: 0 }).cause).toBe(0);
  });

  it('has no cause property when none is given', () => {
    const e = new CoordError('INTERNAL', 'x');
    expect('cause' in e).toBe(false);
    expect(e.cause).toBeUndefined();
    expect('cause' in new CoordError('INTERNAL', 'x', {})).toBe(false);
    expect('cause' in new CoordError('INTERNAL', 'x', { retryable: true })).toBe(false);
  });

  it('toJSON has exactly name, code, message and retryable (never the cause)', () => {
    const cause = Object.assign(new Error('inner'), { password: 'hunter2' });
    const e = new CoordError('AUTH_FAILED', 'bad credentials', { cause });
    expect(e.toJSON()).toStrictEqual({ name: 'CoordError', code: 'AUTH_FAILED', message: 'bad credentials', retryable: false });
    expect(Object.keys(e.toJSON()).sort()).toEqual(['code', 'message', 'name', 'retryable']);
    const text = JSON.stringify(e);
    expect(JSON.parse(text)).toStrictEqual({ name: 'CoordError', code: 'AUTH_FAILED', message: 'bad credentials', retryable: false });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('inner');
    expect(text).not.toContain('stack');
  });

  it('toJSON reflects a retryable override', () => {
    expect(new CoordError('TIMEOUT', 't', { retryable: false }).toJSON().retryable).toBe(false);
    expect(JSON.parse(JSON.stringify({ error: new CoordError('TIMEOUT', 't') }))).toEqual({
      error: { name: 'CoordError', code: 'TIMEOUT', message: 't', retryable: true },
    });
  });
});

describe('isCoordError', () => {
  it('accepts a CoordError, with or without matching codes', () => {
    const e = new CoordError('TIMEOUT', 'x');
    expect(isCoordError(e)).toBe(true);
    expect(isCoordError(e, 'TIMEOUT')).toBe(true);
    expect(isCoordError(e, 'ABORTED', 'TIMEOUT')).toBe(true);
    expect(isCoordError(e, 'ABORTED')).toBe(false);
    expect(isCoordError(e, 'ABORTED', 'CLOSED', 'LOST')).toBe(false);
  });

  it('checks the shape, not the prototype (other module copies and realms)', () => {
    const plain = { name: 'CoordError', code: 'NO_NODE', message: 'x' };
    expect(isCoordError(plain)).toBe(true);
    expect(isCoordError(plain, 'NO_NODE')).toBe(true);
    expect(isCoordError(plain, 'NODE_EXISTS')).toBe(false);

    const foreign = Object.assign(new Error('x'), { name: 'CoordError', code: 'CLOSED' });
    expect(isCoordError(foreign, 'CLOSED')).toBe(true);

    const revived = JSON.parse(JSON.stringify(new CoordError('LOST', 'gone'))) as unknown;
    expect(isCoordError(revived, 'LOST')).toBe(true);
  });

  it('rejects errors of the wrong shape', () => {
    expect(isCoordError(new Error('x'))).toBe(false);
    expect(isCoordError(new TypeError('x'))).toBe(false);
    expect(isCoordError(Object.assign(new Error('x'), { code: 'TIMEOUT' }))).toBe(false);
    expect(isCoordError(Object.assign(new Error('x'), { name: 'CoordError' }))).toBe(false);
    expect(isCoordError({ name: 'CoordError', code: 42 })).toBe(false);
    expect(isCoordError({ name: 'coorderror', code: 'TIMEOUT' })).toBe(false);
    expect(isCoordError({ code: 'TIMEOUT' })).toBe(false);
    const nodeError = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    expect(isCoordError(nodeError)).toBe(false);
  });

  it('rejects non-errors', () => {
    for (const value of [undefined, null, 0, 1, '', 'CoordError', true, Symbol('x'), 10n, () => undefined, [], {}]) {
      expect(isCoordError(value)).toBe(false);
    }
  });

  it('narrows the type', () => {
    const e: unknown = new CoordError('BAD_VERSION', 'x');
    if (isCoordError(e, 'BAD_VERSION')) {
      const code: ErrorCode = e.code;
      expect(code).toBe('BAD_VERSION');
      expect(e.retryable).toBe(false);
    } else {
      throw new Error('expected a CoordError');
    }
  });
});
