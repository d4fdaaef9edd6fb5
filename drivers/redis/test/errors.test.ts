import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { CoordError } from '@coord/core';
import { classify, toCoordError } from '../src/errors.js';

/** A fake ioredis ReplyError, carrying its command as ioredis does (AUTH args hold the password). */
function replyError(message: string, args: string[] = []): Error {
  const error = new Error(message) as Error & { command?: { name: string; args: string[] } };
  error.name = 'ReplyError';
  error.command = { name: 'auth', args };
  return error;
}

function networkError(code: string, message = `connect ${code} 127.0.0.1:6379`): Error {
  return Object.assign(new Error(message), { code });
}

const WHAT = 'redis redis://:***@127.0.0.1:6379: get';

describe('toCoordError', () => {
  it('maps our scripts\' refusals to their code, with the message after it', () => {
    const error = toCoordError(replyError('COORD NODE_EXISTS /a exists'), WHAT);
    expect(error.code).toBe('NODE_EXISTS');
    expect(error.message).toBe(`${WHAT}: /a exists`);
    for (const code of ['NO_NODE', 'BAD_VERSION', 'NOT_EMPTY', 'SESSION_EXPIRED', 'INVALID_ARGUMENT'] as const) {
      expect(toCoordError(replyError(`COORD ${code} why`), WHAT).code).toBe(code);
    }
    expect(classify(replyError('COORD BAD_VERSION x'), WHAT).outcome).toBe('refused');
  });

  it('maps NOAUTH and WRONGPASS to AUTH_FAILED, never showing the password', () => {
    const secret = 'pa55-w0rd!';
    for (const message of ['NOAUTH Authentication required.', 'WRONGPASS invalid username-password pair or user is disabled.', `ERR invalid password ${secret}`]) {
      const error = toCoordError(replyError(message, [secret]), WHAT, [secret]);
      expect(error.code).toBe('AUTH_FAILED');
      expect(error.retryable).toBe(false);
      const shown = [error.message, inspect(error, { depth: 10 }), JSON.stringify(error), String(error.cause), inspect(error.cause, { depth: 10 })].join('\n');
      expect(shown).not.toContain(secret);
    }
  });

  it('never keeps the native error (whose command may hold secrets) as the cause', () => {
    const native = replyError('ERR something odd', ['AUTH', 'hunter2']);
    const error = toCoordError(native, WHAT, ['hunter2']);
    expect(error.code).toBe('INTERNAL');
    expect(error.cause).not.toBe(native);
    expect(inspect(error, { depth: 10 })).not.toContain('hunter2');
  });

  it('says whether a failed request may have been applied', () => {
    expect(classify(networkError('ECONNREFUSED'), WHAT, [], false)).toMatchObject({ outcome: 'unsent', error: { code: 'UNAVAILABLE' } });
    expect(classify(new Error("Stream isn't writeable and enableOfflineQueue options is false"), WHAT, [], true)).toMatchObject({
      outcome: 'unsent',
      error: { code: 'UNAVAILABLE' },
    });
    expect(classify(new Error('Connection is closed.'), WHAT, [], true).outcome).toBe('unknown');
    expect(classify(new Error('Connection is closed.'), WHAT, [], false).outcome).toBe('unsent');
    const inFlight = classify(new Error('Reached the max retries per request limit (which is 0).'), WHAT, [], true);
    expect(inFlight).toMatchObject({ outcome: 'unknown', error: { code: 'CONNECTION_LOSS' } });
    expect(classify(new CoordError('TIMEOUT', 'no reply'), WHAT).outcome).toBe('unknown');
    expect(classify(new CoordError('ABORTED', 'aborted'), WHAT).outcome).toBe('refused');
  });

  it('maps a server that cannot serve now to UNAVAILABLE (retryable) and cluster redirections to INTERNAL', () => {
    for (const message of ['LOADING Redis is loading the dataset in memory', 'READONLY You can\'t write against a read only replica.', 'OOM command not allowed when used memory > \'maxmemory\'.', 'BUSY Redis is busy running a script.']) {
      const error = toCoordError(replyError(message), WHAT);
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.retryable).toBe(true);
    }
    expect(toCoordError(replyError('MOVED 3999 127.0.0.1:6381'), WHAT).code).toBe('INTERNAL');
  });

  it('passes a CoordError through unchanged', () => {
    const original = new CoordError('CLOSED', 'closed');
    expect(toCoordError(original, WHAT)).toBe(original);
  });
});
