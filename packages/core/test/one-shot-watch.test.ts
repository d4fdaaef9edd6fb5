import { describe, it, expect } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { oneShotWatch, repeatPolicyOf } from '../src/one-shot-watch.js';

describe('oneShotWatch', () => {
  it('settles once, with the first event, running the clean-up once before it resolves', async () => {
    const cleanups: string[] = [];
    const watch = oneShotWatch(undefined, (event) => cleanups.push(event));
    expect(watch.settled).toBe(false);
    watch.settle('changed');
    watch.settle('session');
    expect(watch.settled).toBe(true);
    expect(await watch.changed).toBe('changed');
    expect(cleanups).toEqual(['changed']);
  });

  it('is cancelled when its signal aborts, and removes its abort listener when it settles otherwise', async () => {
    const controller = new AbortController();
    const cancelled = oneShotWatch(controller.signal);
    const changed = oneShotWatch(controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    changed.settle('changed');
    controller.abort();
    expect(await cancelled.changed).toBe('cancelled');
    expect(await changed.changed).toBe('changed');

    const other = new AbortController();
    const watch = oneShotWatch(other.signal);
    watch.settle('session');
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('with a signal already aborted settles cancelled after the caller holds it (its clean-up can refer to it)', async () => {
    const seen: unknown[] = [];
    const watch = oneShotWatch(AbortSignal.abort(), () => seen.push(watch));
    expect(watch.settled).toBe(false);
    expect(await watch.changed).toBe('cancelled');
    expect(seen).toEqual([watch]);
  });

  it('a thousand watches on one signal share one abort listener', () => {
    const controller = new AbortController();
    const watches = Array.from({ length: 1_000 }, () => oneShotWatch(controller.signal));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const watch of watches) watch.settle('changed');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('repeatPolicyOf', () => {
  it('lets set and delete repeat only with a token (docs/design.md D7)', () => {
    expect(repeatPolicyOf({})).toBe('never-once-sent');
    expect(repeatPolicyOf({ token: undefined })).toBe('never-once-sent');
    expect(repeatPolicyOf({ token: 7n })).toBe('always');
  });
});
