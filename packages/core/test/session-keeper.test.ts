import { describe, it, expect } from '@jest/globals';
import { retryUntilOpen } from '../src/session-keeper.js';

describe('retryUntilOpen', () => {
  it('retries a failing open with a doubling pause until it opens', async () => {
    let tries = 0;
    const started = performance.now();
    const opened = await retryUntilOpen(async () => {
      tries += 1;
      if (tries < 4) throw new Error('not yet');
      return 'session';
    }, new AbortController().signal, { firstMs: 5, maxMs: 10 });
    expect(opened).toBe('session');
    expect(tries).toBe(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(5 + 10 + 10 - 3);
  });

  it('stops with the stop signal’s reason, and discards what an open in flight produced', async () => {
    const stop = new AbortController();
    const discarded: string[] = [];
    const loop = retryUntilOpen(async () => {
      stop.abort(new Error('closed'));
      return 'late session';
    }, stop.signal, { firstMs: 5, maxMs: 5 }, (late) => discarded.push(late));
    await expect(loop).rejects.toThrow('closed');
    expect(discarded).toEqual(['late session']);
  });

  it('a stop during the pause ends the loop at once', async () => {
    const stop = new AbortController();
    const loop = retryUntilOpen(async () => {
      throw new Error('down');
    }, stop.signal, { firstMs: 60_000, maxMs: 60_000 });
    setTimeout(() => stop.abort(new Error('closed')), 20);
    await expect(loop).rejects.toThrow('closed');
  });
});
