import { describe, it, expect } from '@jest/globals';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { Secret } from '../src/secret.js';

const VALUE = 'p4ss-w0rd-canary';

/** A console that writes into a string, so nothing reaches the test output. */
function capturingConsole(): { console: Console; text: () => string } {
  let buffer = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      buffer += chunk.toString();
      callback();
    },
  });
  return { console: new Console({ stdout: stream, stderr: stream }), text: () => buffer };
}

describe('Secret', () => {
  const secret = new Secret(VALUE);

  it('reveal() returns the value', () => {
    expect(secret.reveal()).toBe(VALUE);
    expect(new Secret('').reveal()).toBe('');
  });

  it('String(), template literals and concatenation show ***', () => {
    expect(String(secret)).toBe('***');
    expect(`${secret}`).toBe('***');
    expect(`pw=${secret}!`).toBe('pw=***!');
    expect('pw=' + String(secret)).toBe('pw=***');
    expect(secret.toString()).toBe('***');
  });

  it('JSON.stringify shows *** (also nested in objects and arrays)', () => {
    expect(JSON.stringify(secret)).toBe('"***"');
    const nested = { user: 'alice', password: secret, deep: { list: [secret, { s: secret }] } };
    const text = JSON.stringify(nested);
    expect(text).not.toContain(VALUE);
    expect(JSON.parse(text)).toEqual({ user: 'alice', password: '***', deep: { list: ['***', { s: '***' }] } });
    expect(JSON.stringify(nested, null, 2)).not.toContain(VALUE);
  });

  it('util.inspect shows *** (default, deep, showHidden, nested)', () => {
    expect(inspect(secret)).toBe('***');
    expect(inspect(secret, { showHidden: true })).toBe('***');
    expect(inspect(secret, { depth: Infinity, showHidden: true, getters: true })).not.toContain(VALUE);
    const nested = { a: { b: { c: { d: secret } } }, list: [secret], map: new Map([['k', secret]]) };
    for (const options of [{}, { depth: Infinity }, { depth: Infinity, showHidden: true }, { depth: 0 }, { colors: true }]) {
      expect(inspect(nested, options)).not.toContain(VALUE);
    }
    expect(inspect({ password: secret })).toContain('***');
  });

  it('util.format shows *** for every placeholder', () => {
    for (const spec of ['%s', '%o', '%O', '%j', '%d', '%i']) {
      expect(format(spec, secret)).not.toContain(VALUE);
      expect(format(spec, { password: secret })).not.toContain(VALUE);
    }
    expect(format('%s', secret)).toBe('***');
    expect(format('%j', secret)).toBe('"***"');
    expect(format('%o', secret)).toBe('***');
    expect(format('%O', secret)).toBe('***');
    expect(format(secret)).toBe('***');
  });

  it('console.log / console.error / console.dir never print the value', () => {
    const { console: c, text } = capturingConsole();
    c.log(secret);
    c.log('password:', secret);
    c.log('%s %o %O %j', secret, secret, secret, { secret });
    c.error({ config: { password: secret } });
    c.dir(secret, { showHidden: true, depth: null });
    c.table([{ password: secret }]);
    const out = text();
    expect(out).toContain('***');
    expect(out).not.toContain(VALUE);
  });

  it('Object.keys, entries, spread, assign and own property names do not expose it', () => {
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.entries(secret)).toEqual([]);
    expect(Object.values(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
    expect(Object.getOwnPropertySymbols(secret)).toEqual([]);
    expect(Reflect.ownKeys(secret)).toEqual([]);
    const spread = { ...secret };
    expect(spread).toEqual({});
    expect(JSON.stringify(Object.assign({}, secret))).toBe('{}');
    const props: string[] = [];
    for (const key in secret) props.push(key);
    expect(props).toEqual([]);
    expect(structuredCloneOrThrowText(secret)).not.toContain(VALUE);
  });

  it('errors and their messages built from it do not contain the value', () => {
    const e = new Error(`auth failed with ${secret}`);
    expect(e.message).toBe('auth failed with ***');
    expect(inspect(e)).not.toContain(VALUE);
  });

  it('distinct secrets do not share values', () => {
    const a = new Secret('a');
    const b = new Secret('b');
    expect(a.reveal()).toBe('a');
    expect(b.reveal()).toBe('b');
  });
});

/** Whatever structuredClone makes of it (a plain object without the private field), as text. */
function structuredCloneOrThrowText(value: unknown): string {
  try {
    return inspect(structuredClone(value), { showHidden: true, depth: Infinity });
  } catch (error) {
    return String(error);
  }
}
