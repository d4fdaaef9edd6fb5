import { describe, expect, it } from '@jest/globals';
import { CoordError, ManagedSession, monotonicNow } from '@coord/core';
import { SessionView } from '../src/session-view.js';

describe('SessionView', () => {
  it('is suspended, without an id, until bound; then shows the granted session', () => {
    const view = new SessionView(10_000);
    expect(view.state).toBe('suspended');
    expect(view.id).toBe('');
    expect(view.ttlMs).toBe(10_000);
    const granted = new ManagedSession('1a2b', 8_000, monotonicNow(), () => undefined, () => undefined);
    view.bind(granted);
    expect(view.state).toBe('connected');
    expect(view.id).toBe('1a2b');
    expect(view.ttlMs).toBe(8_000);
    expect(view.signal.aborted).toBe(false);
    granted.expire('gone');
    expect(view.state).toBe('expired');
    expect((view.signal.reason as CoordError).code).toBe('SESSION_EXPIRED');
  });

  it('aborts CLOSED if the driver closes before the session is granted', () => {
    const view = new SessionView(5_000);
    view.close(new CoordError('CLOSED', 'closed'));
    expect(view.state).toBe('closed');
    expect((view.signal.reason as CoordError).code).toBe('CLOSED');
    expect(JSON.stringify(view)).toBe('{"id":"","ttlMs":5000,"state":"closed"}');
  });
});
