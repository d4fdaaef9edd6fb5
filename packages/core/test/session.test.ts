import { describe, it, expect, afterEach } from '@jest/globals';
import type { SessionStateChange } from '../src/driver.js';
import { CoordError, isCoordError } from '../src/errors.js';
import { ManagedSession, monotonicNow, safetyMargin } from '../src/session.js';

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A session plus everything it reported. Closed after each test so no timer is left. */
interface Harness {
  session: ManagedSession;
  changes: { previous: string; state: string; same: boolean }[];
  deadlines: number[];
}

const open: ManagedSession[] = [];

function makeSession(ttlMs: number, openedAt = monotonicNow(), id = 's1'): Harness {
  const changes: Harness['changes'] = [];
  const deadlines: number[] = [];
  const session: ManagedSession = new ManagedSession(
    id,
    ttlMs,
    openedAt,
    (change: SessionStateChange) => changes.push({ previous: change.previous, state: change.state, same: change.session === session }),
    (s) => {
      expect(s).toBe(session);
      deadlines.push(monotonicNow());
    },
  );
  open.push(session);
  return { session, changes, deadlines };
}

afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('safetyMargin', () => {
  it.each([
    [0, 0],
    [100, 20],
    [200, 40],
    [1_000, 200],
    [5_000, 1_000],
    [9_999, 1_999.8],
    [10_000, 2_000],
    [10_001, 2_000],
    [30_000, 2_000],
    [3_600_000, 2_000],
  ])('safetyMargin(%p) is %p', (ttl, margin) => {
    expect(safetyMargin(ttl)).toBeCloseTo(margin, 10);
  });
});

describe('monotonicNow', () => {
  it('never goes backwards', () => {
    let last = monotonicNow();
    for (let i = 0; i < 1000; i += 1) {
      const now = monotonicNow();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
  });
});

describe('ManagedSession', () => {
  it('starts connected, with a live signal and a deadline of openedAt + ttl - margin', () => {
    const openedAt = monotonicNow();
    const { session, changes } = makeSession(10_000, openedAt, 'abc');
    expect(session.id).toBe('abc');
    expect(session.ttlMs).toBe(10_000);
    expect(session.state).toBe('connected');
    expect(session.ended).toBe(false);
    expect(session.signal.aborted).toBe(false);
    expect(session.deadline).toBeCloseTo(openedAt + 10_000 - 2_000, 6);
    expect(session.toJSON()).toEqual({ id: 'abc', ttlMs: 10_000, state: 'connected' });
    expect(JSON.stringify(session)).toBe('{"id":"abc","ttlMs":10000,"state":"connected"}');
    expect(changes).toEqual([]);
  });

  it('renewed(sentAt) pushes the deadline to sentAt + ttl - safetyMargin(ttl)', () => {
    const t0 = monotonicNow();
    const { session } = makeSession(5_000, t0);
    expect(session.deadline).toBeCloseTo(t0 + 4_000, 6);
    session.renewed(t0 + 300);
    expect(session.deadline).toBeCloseTo(t0 + 300 + 5_000 - safetyMargin(5_000), 6);
    session.renewed(t0 + 1_000);
    expect(session.deadline).toBeCloseTo(t0 + 5_000, 6);
  });

  it('an older renewal (acknowledged late) never moves the deadline back', () => {
    const t0 = monotonicNow();
    const { session } = makeSession(5_000, t0);
    session.renewed(t0 + 1_000);
    session.renewed(t0 + 500);
    expect(session.deadline).toBeCloseTo(t0 + 5_000, 6);
    session.renewed(t0 + 1_000);
    expect(session.deadline).toBeCloseTo(t0 + 5_000, 6);
  });

  it('calls onDeadline once, after ttl - margin, when no renewal comes (without ending the session itself)', async () => {
    const start = monotonicNow();
    const { session, deadlines, changes } = makeSession(200, start);
    await pause(100);
    expect(deadlines).toEqual([]);
    await pause(250);
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]! - start).toBeGreaterThanOrEqual(160 - 2);
    // The driver decides what to do; the session itself is still connected.
    expect(session.state).toBe('connected');
    expect(session.signal.aborted).toBe(false);
    expect(changes).toEqual([]);
  });

  it('calls onDeadline at once when the deadline is already in the past', async () => {
    const { deadlines } = makeSession(200, monotonicNow() - 1_000);
    expect(deadlines).toEqual([]); // not synchronously from the constructor
    await pause(30);
    expect(deadlines).toHaveLength(1);
  });

  it('renewals keep onDeadline from firing; it fires once they stop', async () => {
    const { session, deadlines } = makeSession(200);
    const renewals = setInterval(() => session.renewed(monotonicNow()), 40);
    await pause(450);
    clearInterval(renewals);
    expect(deadlines).toEqual([]);
    const stoppedAt = monotonicNow();
    await pause(300);
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]! - stoppedAt).toBeLessThan(200);
  });

  it('fires onDeadline while suspended (the deadline runs through a disconnect)', async () => {
    const { session, deadlines } = makeSession(150);
    session.suspend();
    await pause(250);
    expect(deadlines).toHaveLength(1);
    expect(session.state).toBe('suspended');
  });

  it('expire() aborts the signal with SESSION_EXPIRED, ends the session and reports the change', () => {
    const { session, changes } = makeSession(10_000, monotonicNow(), 'sx');
    const seenByAbortListener: string[] = [];
    session.signal.addEventListener('abort', () => seenByAbortListener.push(session.state));
    session.expire('lost on the server');
    expect(session.state).toBe('expired');
    expect(session.ended).toBe(true);
    expect(session.signal.aborted).toBe(true);
    const reason = session.signal.reason as CoordError;
    expect(reason).toBeInstanceOf(CoordError);
    expect(isCoordError(reason, 'SESSION_EXPIRED')).toBe(true);
    expect(reason.message).toBe('session sx lost on the server');
    expect(seenByAbortListener).toEqual(['expired']); // state is set before the abort
    expect(changes).toEqual([{ previous: 'connected', state: 'expired', same: true }]);
    expect(session.toJSON().state).toBe('expired');
  });

  it("expire() without detail says 'expired'", () => {
    const { session } = makeSession(10_000, monotonicNow(), 'id9');
    session.expire();
    expect((session.signal.reason as CoordError).message).toBe('session id9 expired');
  });

  it('onChange of expire() sees the signal already aborted', () => {
    let abortedAtChange: boolean | undefined;
    const s = new ManagedSession('q', 10_000, monotonicNow(), (c) => (abortedAtChange = c.session.signal.aborted), () => undefined);
    open.push(s);
    s.expire();
    expect(abortedAtChange).toBe(true);
  });

  it('expired is terminal: close, expire, renewed and resume change nothing', async () => {
    const { session, changes, deadlines } = makeSession(100);
    session.expire();
    const reason: unknown = session.signal.reason;
    const deadline = session.deadline;
    session.close();
    session.expire('again');
    session.renewed(monotonicNow() + 10_000);
    session.resume();
    expect(session.state).toBe('expired');
    expect(session.signal.reason).toBe(reason);
    expect(session.deadline).toBeCloseTo(deadline, 6);
    expect(changes).toHaveLength(1);
    await pause(150);
    expect(deadlines).toEqual([]); // the timer was cleared
  });

  // `Session` (driver.ts): "`expired` and `closed` are terminal" and a session "is never
  // revived". ManagedSession.suspend() does not check `ended`, so a driver that reports a
  // dropped connection after an expiry moves the session out of `expired`.
  it('expired is terminal: suspend() after expire() changes nothing', () => {
    const { session, changes } = makeSession(10_000);
    session.expire();
    session.suspend();
    expect(session.state).toBe('expired');
    expect(session.ended).toBe(true);
    expect(changes).toHaveLength(1);
  });

  it('closed is terminal: suspend() then resume() after close() changes nothing', () => {
    const { session, changes } = makeSession(10_000);
    session.close();
    session.suspend();
    session.resume();
    expect(session.state).toBe('closed');
    expect(changes).toHaveLength(1);
  });

  it('close() aborts with CLOSED, reports the change, and is idempotent', () => {
    const { session, changes } = makeSession(10_000, monotonicNow(), 'c1');
    session.close();
    expect(session.state).toBe('closed');
    expect(session.ended).toBe(true);
    const reason = session.signal.reason as CoordError;
    expect(isCoordError(reason, 'CLOSED')).toBe(true);
    expect(reason.message).toBe('session c1 closed');
    session.close();
    session.expire();
    expect(session.state).toBe('closed');
    expect(session.signal.reason).toBe(reason);
    expect(changes).toEqual([{ previous: 'connected', state: 'closed', same: true }]);
  });

  it('close() clears the deadline timer', async () => {
    const { session, deadlines } = makeSession(100);
    session.close();
    await pause(150);
    expect(deadlines).toEqual([]);
  });

  it('suspend() and resume() move between connected and suspended without aborting', () => {
    const { session, changes } = makeSession(10_000);
    session.resume(); // not suspended: nothing
    session.suspend();
    expect(session.state).toBe('suspended');
    expect(session.ended).toBe(false);
    session.suspend(); // already suspended: nothing
    session.resume();
    expect(session.state).toBe('connected');
    session.resume();
    expect(session.signal.aborted).toBe(false);
    expect(changes).toEqual([
      { previous: 'connected', state: 'suspended', same: true },
      { previous: 'suspended', state: 'connected', same: true },
    ]);
  });

  it('expire() and close() from suspended report previous = suspended', () => {
    const a = makeSession(10_000, monotonicNow(), 'a');
    a.session.suspend();
    a.session.expire();
    expect(a.changes.at(-1)).toEqual({ previous: 'suspended', state: 'expired', same: true });
    expect(isCoordError(a.session.signal.reason, 'SESSION_EXPIRED')).toBe(true);

    const b = makeSession(10_000, monotonicNow(), 'b');
    b.session.suspend();
    b.session.close();
    expect(b.changes.at(-1)).toEqual({ previous: 'suspended', state: 'closed', same: true });
    expect(isCoordError(b.session.signal.reason, 'CLOSED')).toBe(true);
  });

  it('renewed() while suspended still pushes the deadline', () => {
    const t0 = monotonicNow();
    const { session } = makeSession(1_000, t0);
    session.suspend();
    session.renewed(t0 + 100);
    expect(session.deadline).toBeCloseTo(t0 + 100 + 800, 6);
  });
});
