import { describe, it, expect } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { thrown } from './helpers.js';
import { CoordError, isCoordError } from '../src/errors.js';
import { checkTimeout } from '../src/validate.js';
import { abortReason, callSignal, linkSignals, raceAbort, raceDeadline, sleep, startWait, throwIfAborted } from '../src/signals.js';

/** How many 'abort' listeners a signal has right now. */
function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Waits `ms` with a plain timer (not the code under test). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `signal` aborts; returns the monotonic time it did. */
function aborted(signal: AbortSignal): Promise<number> {
  if (signal.aborted) return Promise.resolve(performance.now());
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(performance.now()), { once: true }));
}

/** Counts of active timers (Node's own view), to check nothing is left behind. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

function expectCoordError(value: unknown, code: string): CoordError {
  expect(isCoordError(value)).toBe(true);
  expect((value as CoordError).code).toBe(code);
  return value as CoordError;
}

describe('linkSignals', () => {
  it('with no sources never aborts', () => {
    const linked = linkSignals();
    expect(linked.signal.aborted).toBe(false);
    linked.dispose();
    const only = linkSignals(undefined, undefined);
    expect(only.signal.aborted).toBe(false);
    only.dispose();
  });

  it('aborts with the reason of the first source to abort; later aborts do not change it', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, undefined, b.signal);
    expect(linked.signal.aborted).toBe(false);
    const first = new CoordError('SESSION_EXPIRED', 'gone');
    b.abort(first);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe(first);
    a.abort(new Error('later'));
    expect(linked.signal.reason).toBe(first);
    linked.dispose();
  });

  it('detaches from every source once one aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const c = new AbortController();
    const linked = linkSignals(a.signal, b.signal, c.signal);
    expect([listeners(a.signal), listeners(b.signal), listeners(c.signal)]).toEqual([1, 1, 1]);
    b.abort('why');
    expect(linked.signal.reason).toBe('why');
    expect([listeners(a.signal), listeners(c.signal)]).toEqual([0, 0]);
  });

  it('is aborted at once when a source is already aborted, with that reason, and keeps no listener', () => {
    const live = new AbortController();
    const done = new AbortController();
    const after = new AbortController();
    done.abort('already');
    const linked = linkSignals(live.signal, done.signal, after.signal);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('already');
    expect(listeners(live.signal)).toBe(0);
    expect(listeners(after.signal)).toBe(0);
  });

  it('takes the first already-aborted source in argument order', () => {
    const x = new AbortController();
    const y = new AbortController();
    y.abort('y');
    x.abort('x');
    expect(linkSignals(y.signal, x.signal).signal.reason).toBe('y');
    expect(linkSignals(x.signal, y.signal).signal.reason).toBe('x');
  });

  it('dispose() removes its listeners and stops propagation; it is idempotent', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, b.signal);
    expect(listeners(a.signal)).toBe(1);
    linked.dispose();
    expect(listeners(a.signal)).toBe(0);
    expect(listeners(b.signal)).toBe(0);
    linked.dispose();
    a.abort('after dispose');
    expect(linked.signal.aborted).toBe(false);
  });

  it('dispose() detaches even from a source whose add/removeEventListener are wrapped', () => {
    // Observe the calls themselves (not only Node's count) on one AbortSignal instance.
    const source = new AbortController();
    const live = new Set<unknown>();
    const signal = source.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    type Add = AbortSignal['addEventListener'];
    type Remove = AbortSignal['removeEventListener'];
    signal.addEventListener = ((...args: Parameters<Add>) => {
      if (args[0] === 'abort') live.add(args[1]);
      add(...args);
    }) as Add;
    signal.removeEventListener = ((...args: Parameters<Remove>) => {
      if (args[0] === 'abort') live.delete(args[1]);
      remove(...args);
    }) as Remove;

    const linked = linkSignals(signal);
    expect(live.size).toBe(1);
    linked[Symbol.dispose]();
    expect(live.size).toBe(0);
    source.abort();
    expect(linked.signal.aborted).toBe(false);
  });

  it('does not accumulate listeners on a long-lived source', () => {
    const session = new AbortController();
    for (let i = 0; i < 100; i += 1) linkSignals(session.signal).dispose();
    expect(listeners(session.signal)).toBe(0);
  });
});

describe('checkTimeout', () => {
  it('accepts undefined, numbers >= 0 and Infinity (no timeout)', () => {
    expect(checkTimeout(undefined, 'x')).toBeUndefined();
    expect(checkTimeout(Infinity, 'x')).toBe(Infinity);
    expect(checkTimeout(2 ** 31, 'x')).toBe(2 ** 31);
    expect(checkTimeout(0, 'x')).toBe(0);
    expect(checkTimeout(1.5, 'x')).toBe(1.5);
    expect(checkTimeout(1e9, 'x')).toBe(1e9);
  });

  it.each([[-1], [-0.001], [NaN], [-Infinity], ['100'], [null], [{}], [10n]] as [unknown][])(
    'rejects %p with INVALID_ARGUMENT',
    (timeout) => {
      let error: unknown;
      try {
        checkTimeout(timeout, 'lock.acquire');
      } catch (e) {
        error = e;
      }
      const e = expectCoordError(error, 'INVALID_ARGUMENT');
      expect(e.message).toMatch(/^lock\.acquire: timeout must be a number >= 0 \(ms; Infinity for none\), got /);
    },
  );
});

describe('startWait', () => {
  it('returns the start time of a wait whose options are good', () => {
    const before = performance.now();
    const startedAt = startWait({ timeout: 10, signal: new AbortController().signal }, 'lock /a');
    expect(startedAt).toBeGreaterThanOrEqual(before);
    expect(startedAt).toBeLessThanOrEqual(performance.now());
  });

  it('rejects a bad timeout with INVALID_ARGUMENT and an aborted signal with ABORTED, before anything else', () => {
    expect(thrown(() => startWait({ timeout: -1 }, 'lock /a')).code).toBe('INVALID_ARGUMENT');
    const aborted = new AbortController();
    aborted.abort(new Error('gave up'));
    expect(thrown(() => startWait({ signal: aborted.signal }, 'lock /a')).code).toBe('ABORTED');
  });
});

describe('callSignal', () => {
  it('without timeout or signal never aborts', async () => {
    const call = callSignal({}, 'op');
    await pause(20);
    expect(call.signal.aborted).toBe(false);
    call.dispose();
  });

  it('aborts with TIMEOUT after the timeout', async () => {
    const started = performance.now();
    const call = callSignal({ timeout: 50 }, 'lock.acquire');
    expect(call.signal.aborted).toBe(false);
    const at = await aborted(call.signal);
    expect(at - started).toBeGreaterThanOrEqual(45);
    const e = expectCoordError(call.signal.reason, 'TIMEOUT');
    expect(e.message).toBe('lock.acquire: timed out after 50 ms');
    expect(e.retryable).toBe(true);
    call.dispose();
  });

  it('timeout 0 aborts on the next timer tick, not synchronously', async () => {
    const call = callSignal({ timeout: 0 }, 'op');
    expect(call.signal.aborted).toBe(false);
    await aborted(call.signal);
    expectCoordError(call.signal.reason, 'TIMEOUT');
    call.dispose();
  });

  it('counts the timeout from startedAt', async () => {
    const call = callSignal({ timeout: 1_000, startedAt: performance.now() - 5_000 }, 'op');
    const start = performance.now();
    await aborted(call.signal);
    expect(performance.now() - start).toBeLessThan(500);
    expect(call.signal.reason).toMatchObject({ code: 'TIMEOUT', message: 'op: timed out after 1000 ms' });
    call.dispose();
  });

  it('aborts with ABORTED (cause: the user reason) when the user signal aborts', () => {
    const user = new AbortController();
    const call = callSignal({ signal: user.signal, timeout: 10_000 }, 'barrier.wait');
    const why = new Error('user gave up');
    user.abort(why);
    expect(call.signal.aborted).toBe(true);
    const e = expectCoordError(call.signal.reason, 'ABORTED');
    expect(e.message).toBe('barrier.wait: aborted');
    expect(e.cause).toBe(why);
    expect(e.retryable).toBe(false);
    call.dispose();
  });

  it('an abort() without a reason still gives ABORTED (cause: the AbortError)', () => {
    const user = new AbortController();
    const call = callSignal({ signal: user.signal }, 'op');
    user.abort();
    const e = expectCoordError(call.signal.reason, 'ABORTED');
    expect((e.cause as { name?: unknown }).name).toBe('AbortError');
    call.dispose();
  });

  it('is aborted at once for an already-aborted user signal, without a timer or listener', () => {
    const user = new AbortController();
    user.abort('before');
    const timers = activeTimers();
    const call = callSignal({ signal: user.signal, timeout: 10_000 }, 'op');
    expect(call.signal.aborted).toBe(true);
    const e = expectCoordError(call.signal.reason, 'ABORTED');
    expect(e.cause).toBe('before');
    expect(activeTimers()).toBe(timers);
    expect(listeners(user.signal)).toBe(0);
    call.dispose();
  });

  it('passes an extra signal reason through unchanged', () => {
    const session = new AbortController();
    const user = new AbortController();
    const call = callSignal({ signal: user.signal, timeout: 10_000 }, 'op', undefined, session.signal);
    const expired = new CoordError('SESSION_EXPIRED', 'session s1 expired');
    session.abort(expired);
    expect(call.signal.reason).toBe(expired);
    user.abort('late');
    expect(call.signal.reason).toBe(expired);
    call.dispose();
    expect(listeners(user.signal)).toBe(0);
  });

  it('is aborted at once by an already-aborted extra signal', () => {
    const session = new AbortController();
    session.abort(new CoordError('CLOSED', 'closed'));
    const call = callSignal({ timeout: 10_000 }, 'op', session.signal);
    expect(call.signal.aborted).toBe(true);
    expectCoordError(call.signal.reason, 'CLOSED');
    call.dispose();
  });

  it.each([[-1], [NaN], [-Infinity], ['5'] as unknown as [number]])('rejects timeout %p with INVALID_ARGUMENT, leaving no timer', (timeout) => {
    const user = new AbortController();
    const timers = activeTimers();
    let error: unknown;
    try {
      callSignal({ timeout, signal: user.signal }, 'queue.take');
    } catch (e) {
      error = e;
    }
    const e = expectCoordError(error, 'INVALID_ARGUMENT');
    expect(e.message).toContain('queue.take: timeout must be a number >= 0');
    expect(activeTimers()).toBe(timers);
    expect(listeners(user.signal)).toBe(0);
  });

  it('dispose() clears the timer and the user listener: no abort afterwards', async () => {
    const user = new AbortController();
    const session = new AbortController();
    const timers = activeTimers();
    const call = callSignal({ timeout: 30, signal: user.signal }, 'op', session.signal);
    expect(activeTimers()).toBe(timers + 1);
    expect(listeners(user.signal)).toBe(1);
    expect(listeners(session.signal)).toBe(1);
    call.dispose();
    expect(activeTimers()).toBe(timers);
    expect(listeners(user.signal)).toBe(0);
    expect(listeners(session.signal)).toBe(0);
    await pause(80);
    expect(call.signal.aborted).toBe(false);
    user.abort('x');
    session.abort('y');
    expect(call.signal.aborted).toBe(false);
    call[Symbol.dispose](); // idempotent
  });

  it('dispose() after a timeout abort still removes the user listener', async () => {
    const user = new AbortController();
    const call = callSignal({ timeout: 5, signal: user.signal }, 'op');
    await aborted(call.signal);
    call.dispose();
    expect(listeners(user.signal)).toBe(0);
  });
});

describe('abortReason / throwIfAborted', () => {
  it('returns a CoordError reason as it is', () => {
    const c = new AbortController();
    const reason = new CoordError('SESSION_EXPIRED', 'gone');
    c.abort(reason);
    expect(abortReason(c.signal, 'op')).toBe(reason);
  });

  it('wraps a foreign reason as ABORTED with the reason as cause', () => {
    const c = new AbortController();
    const reason = new Error('nope');
    c.abort(reason);
    const e = abortReason(c.signal, 'election.campaign');
    expect(e).toBeInstanceOf(CoordError);
    expect(e.code).toBe('ABORTED');
    expect(e.message).toBe('election.campaign: aborted');
    expect(e.cause).toBe(reason);
    const s = new AbortController();
    s.abort('text');
    expect(abortReason(s.signal, 'x').cause).toBe('text');
  });

  it('throwIfAborted: nothing for undefined or live signals; the reason for aborted ones', () => {
    expect(() => throwIfAborted(undefined, 'op')).not.toThrow();
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal, 'op')).not.toThrow();
    const reason = new CoordError('CLOSED', 'closed');
    c.abort(reason);
    let error: unknown;
    try {
      throwIfAborted(c.signal, 'op');
    } catch (e) {
      error = e;
    }
    expect(error).toBe(reason);
    const d = new AbortController();
    d.abort(42);
    expect(() => throwIfAborted(d.signal, 'op')).toThrow(expect.objectContaining({ code: 'ABORTED', cause: 42 }) as unknown as Error);
  });
});

describe('raceAbort', () => {
  it('returns the promise itself without a signal', () => {
    const p = Promise.resolve(1);
    expect(raceAbort(p, undefined, 'op')).toBe(p);
  });

  it('resolves with the value and removes its listener', async () => {
    const c = new AbortController();
    const p = raceAbort(pause(5).then(() => 'v'), c.signal, 'op');
    expect(listeners(c.signal)).toBe(1);
    await expect(p).resolves.toBe('v');
    expect(listeners(c.signal)).toBe(0);
  });

  it('passes a rejection through and removes its listener', async () => {
    const c = new AbortController();
    const boom = new Error('boom');
    const p = raceAbort(pause(5).then(() => Promise.reject(boom)), c.signal, 'op');
    await expect(p).rejects.toBe(boom);
    expect(listeners(c.signal)).toBe(0);
  });

  it('rejects with the abort reason as soon as the signal aborts', async () => {
    const c = new AbortController();
    let settle: (v: string) => void = () => undefined;
    const never = new Promise<string>((resolve) => (settle = resolve));
    const p = raceAbort(never, c.signal, 'lock.acquire');
    const reason = new CoordError('SESSION_EXPIRED', 'gone');
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(listeners(c.signal)).toBe(0);
    settle('late'); // settling later changes nothing
    await expect(p).rejects.toBe(reason);
  });

  it('wraps a foreign abort reason as ABORTED', async () => {
    const c = new AbortController();
    const p = raceAbort(new Promise<never>(() => undefined), c.signal, 'op');
    c.abort('why');
    await expect(p).rejects.toMatchObject({ name: 'CoordError', code: 'ABORTED', message: 'op: aborted', cause: 'why' });
  });

  it('rejects at once for an already-aborted signal, adding no listener', async () => {
    const c = new AbortController();
    c.abort(new CoordError('CLOSED', 'closed'));
    const p = raceAbort(Promise.resolve(1), c.signal, 'op');
    expect(listeners(c.signal)).toBe(0);
    await expect(p).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('leaves no listeners after many races on one long-lived signal', async () => {
    const c = new AbortController();
    await Promise.all(Array.from({ length: 50 }, (_, i) => raceAbort(Promise.resolve(i), c.signal, 'op')));
    expect(listeners(c.signal)).toBe(0);
  });
});

describe('raceDeadline', () => {
  const timedOut = (): Error => new CoordError('TIMEOUT', 'op: timed out');

  it('resolves with the value and leaves no timer or listener', async () => {
    const c = new AbortController();
    const before = activeTimers();
    const p = raceDeadline(pause(5).then(() => 'v'), { ms: 1_000, signal: c.signal, what: 'op', timedOut });
    await expect(p).resolves.toBe('v');
    expect(listeners(c.signal)).toBe(0);
    expect(activeTimers()).toBe(before);
  });

  it('passes a rejection through', async () => {
    const boom = new Error('boom');
    await expect(raceDeadline(Promise.reject(boom), { ms: 1_000, what: 'op', timedOut })).rejects.toBe(boom);
  });

  it('rejects with timedOut() once the deadline passes, and a late reply changes nothing', async () => {
    let settle: (v: string) => void = () => undefined;
    const slow = new Promise<string>((resolve) => (settle = resolve));
    const p = raceDeadline(slow, { ms: 10, what: 'op', timedOut });
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT' });
    settle('late');
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('rejects with the abort reason when the signal aborts first', async () => {
    const c = new AbortController();
    const p = raceDeadline(new Promise<never>(() => undefined), { ms: 10_000, signal: c.signal, what: 'op', timedOut });
    const reason = new CoordError('SESSION_EXPIRED', 'gone');
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(listeners(c.signal)).toBe(0);
  });

  it('rejects at once for an already-aborted signal, and a later failure of the request is not unhandled', async () => {
    const c = new AbortController();
    c.abort(new CoordError('CLOSED', 'closed'));
    const failing = pause(5).then(() => Promise.reject(new Error('late failure')));
    await expect(raceDeadline(failing, { ms: 1_000, signal: c.signal, what: 'op', timedOut })).rejects.toMatchObject({ code: 'CLOSED' });
    await pause(10); // an unhandled rejection here would fail the test run
    expect(listeners(c.signal)).toBe(0);
  });
});

describe('sleep', () => {
  it('resolves after about ms and leaves no listener', async () => {
    const c = new AbortController();
    const start = performance.now();
    await sleep(40, c.signal);
    expect(performance.now() - start).toBeGreaterThanOrEqual(35);
    expect(listeners(c.signal)).toBe(0);
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it('rejects with the reason when aborted, and clears its timer', async () => {
    const c = new AbortController();
    const timers = activeTimers();
    const p = sleep(10_000, c.signal);
    expect(activeTimers()).toBe(timers + 1);
    const reason = new CoordError('TIMEOUT', 't');
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(activeTimers()).toBe(timers);
    expect(listeners(c.signal)).toBe(0);
  });

  it('wraps a foreign reason as ABORTED named "sleep"', async () => {
    const c = new AbortController();
    const p = sleep(10_000, c.signal);
    c.abort('stop');
    await expect(p).rejects.toMatchObject({ code: 'ABORTED', message: 'sleep: aborted', cause: 'stop' });
  });

  it('rejects at once for an already-aborted signal, without a timer', async () => {
    const c = new AbortController();
    c.abort(new CoordError('CLOSED', 'closed'));
    const timers = activeTimers();
    const p = sleep(10_000, c.signal);
    expect(activeTimers()).toBe(timers);
    await expect(p).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
