import { describe, expect, it } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { thrown } from './helpers.js';
import { onAbort } from '../src/abort-listeners.js';
import { MAX_PATH_LENGTH } from '../src/paths.js';
import { MAX_TIMER_MS, setLongTimeout } from '../src/timers.js';
import {
  checkCallback,
  checkCodec,
  checkOptionalBoolean,
  checkOptionsObject,
  checkPath,
  checkPositiveInteger,
  checkSignal,
  checkSignalOptions,
  checkTimeout,
  checkWaitOptions,
  isAbortSignal,
  sequentialBudget,
} from '../src/validate.js';

const invalid = (fn: () => unknown, argument: string): void => {
  const error = thrown(fn);
  expect(error.code).toBe('INVALID_ARGUMENT');
  expect(error.message).toContain(argument);
};

describe('checkPath', () => {
  it('accepts a path up to the limit minus the reserve', () => {
    const path = `/${'a'.repeat(MAX_PATH_LENGTH - 49)}`;
    expect(checkPath(path, 'lock path', 48)).toBe(path);
    invalid(() => checkPath(`${path}b`, 'lock path', 48), 'lock path');
  });
  it.each([['/.coord'], ['/.coord/groups/ghost'], ['/.coord/x/y']])('refuses the reserved area: %s', (path) => {
    invalid(() => checkPath(path, 'lock path'), 'reserved');
  });
  it('allows names that merely start like the reserved root', () => {
    expect(checkPath('/.coordinator', 'p')).toBe('/.coordinator');
  });
  it.each([[42], [null], [''], ['a'], ['/a/'], ['/a//b'], ['/a/../b']] as [unknown][])('refuses %p', (path) => {
    invalid(() => checkPath(path, 'queue path'), 'queue path');
  });
  it('sequentialBudget covers prefix, attempt id and sequence suffix', () => {
    expect(sequentialBudget('lock-')).toBe(1 + 5 + 21 + 1 + 20);
  });
});

describe('option checks', () => {
  it('checkOptionsObject: undefined is {}, objects pass, null/arrays/primitives are refused', () => {
    expect(checkOptionsObject(undefined, 'x')).toEqual({});
    const options = { a: 1 };
    expect(checkOptionsObject(options, 'x')).toBe(options);
    for (const value of [null, [], 3, 'o', true]) invalid(() => checkOptionsObject(value as unknown as object, 'lock /a'), 'options');
  });
  it('checkTimeout: Infinity and long timeouts pass, NaN/negative/non-numbers do not', () => {
    expect(checkTimeout(Infinity, 'x')).toBe(Infinity);
    expect(checkTimeout(2 ** 40, 'x')).toBe(2 ** 40);
    for (const value of [NaN, -1, '1', null, 1n]) invalid(() => checkTimeout(value, 'x'), 'timeout');
  });
  it('checkSignal: AbortSignal or undefined; an AbortController gets a hint', () => {
    const controller = new AbortController();
    expect(checkSignal(controller.signal, 'x')).toBe(controller.signal);
    expect(checkSignal(undefined, 'x')).toBeUndefined();
    expect(isAbortSignal(AbortSignal.abort())).toBe(true);
    invalid(() => checkSignal(controller, 'x'), 'controller.signal');
    for (const value of [null, {}, { aborted: false }, 'signal']) invalid(() => checkSignal(value, 'x'), 'signal');
  });
  it('checkWaitOptions drops undefined fields and names the bad option', () => {
    const signal = new AbortController().signal;
    expect(checkWaitOptions(undefined, 'x')).toEqual({});
    expect(checkWaitOptions({ timeout: 5, signal }, 'x')).toEqual({ timeout: 5, signal });
    invalid(() => checkWaitOptions(null as never, 'x'), 'options');
    invalid(() => checkWaitOptions({ timeout: -1 }, 'x'), 'timeout');
    invalid(() => checkWaitOptions({ signal: {} as AbortSignal }, 'x'), 'signal');
    expect(checkSignalOptions(undefined, 'x')).toEqual({});
    invalid(() => checkSignalOptions(null as never, 'x'), 'options');
  });
  it('checkCallback, checkOptionalBoolean, checkPositiveInteger, checkCodec', () => {
    const fn = (): void => undefined;
    expect(checkCallback(fn, 'x', 'fn')).toBe(fn);
    invalid(() => checkCallback(42 as unknown as () => void, 'x', 'onRejoin'), 'onRejoin');
    expect(checkOptionalBoolean(undefined, 'x', 'rejoin')).toBe(false);
    invalid(() => checkOptionalBoolean('yes', 'x', 'rejoin'), 'rejoin');
    expect(checkPositiveInteger(3, 'x', 'permits')).toBe(3);
    for (const value of [0, -1, 1.5, '3', NaN, Infinity, 2 ** 53]) invalid(() => checkPositiveInteger(value, 'x', 'permits'), 'permits');
    const codec = { encode: (): Uint8Array => new Uint8Array(), decode: (): number => 1 };
    expect(checkCodec(undefined, codec, 'x')).toBe(codec);
    for (const value of [null, 42, {}, { encode: fn }]) invalid(() => checkCodec(value as never, codec, 'x'), 'codec');
  });
});

describe('setLongTimeout', () => {
  it('a delay past 2^31 - 1 ms is still pending (no overflow to 1 ms), and cancels', async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), MAX_TIMER_MS + 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toBe(false);
    timer.cancel();
  });
  it('fires a short delay once; Infinity never arms a timer', async () => {
    let fired = 0;
    setLongTimeout(() => (fired += 1), 5);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    setLongTimeout(() => (fired += 100), Infinity);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toBe(1);
  });
});

describe('onAbort', () => {
  it('shares one listener among many callbacks, and removes it with the last', () => {
    const controller = new AbortController();
    const offs = Array.from({ length: 50 }, () => onAbort(controller.signal, () => undefined));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const off of offs) off();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
  it('calls every remaining callback once on abort', () => {
    const controller = new AbortController();
    const seen: number[] = [];
    onAbort(controller.signal, () => seen.push(1));
    const off = onAbort(controller.signal, () => seen.push(2));
    onAbort(controller.signal, () => seen.push(3));
    off();
    controller.abort();
    controller.abort();
    expect(seen).toEqual([1, 3]);
  });
});
