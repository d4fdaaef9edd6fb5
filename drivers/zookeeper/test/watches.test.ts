import { describe, expect, it } from '@jest/globals';
import { ManagedSession, monotonicNow } from '@coord/core';
import { EventType, State } from '../src/native.js';
import { WatchRegistry } from '../src/watches.js';

function session(): ManagedSession {
  const s = new ManagedSession('abc', 60_000, monotonicNow(), () => undefined, () => undefined);
  return s;
}

describe('WatchRegistry', () => {
  it('settles once, on the first node event; connection events do not end a watch', async () => {
    const owner = session();
    const watch = new WatchRegistry().arm(owner, undefined);
    watch.watcher(EventType.SESSION, State.CONNECTING, '');
    watch.watcher(EventType.SESSION, State.CONNECTED, '');
    expect(watch.settled).toBe(false);
    watch.watcher(EventType.DELETED, State.CONNECTED, '/a');
    watch.watcher(EventType.CHANGED, State.CONNECTED, '/a');
    expect(await watch.changed).toBe('changed');
    owner.close();
  });

  it('resolves "session" when the session ends, or the C client reports it expired', async () => {
    const owner = session();
    const registry = new WatchRegistry();
    const first = registry.arm(owner, undefined);
    const second = registry.arm(owner, undefined);
    first.watcher(EventType.SESSION, State.EXPIRED, '');
    expect(await first.changed).toBe('session');
    registry.endSession(owner);
    expect(await second.changed).toBe('session');
    owner.close();
  });

  it('resolves "cancelled" when its signal aborts, and ignores later events', async () => {
    const owner = session();
    const controller = new AbortController();
    const watch = new WatchRegistry().arm(owner, controller.signal);
    controller.abort();
    watch.watcher(EventType.CHANGED, State.CONNECTED, '/a');
    expect(await watch.changed).toBe('cancelled');
    const late = new WatchRegistry().arm(owner, controller.signal);
    expect(await late.changed).toBe('cancelled');
    owner.close();
  });

  it('lets a filter keep the watch armed', async () => {
    const owner = session();
    const watch = new WatchRegistry().arm(owner, undefined, (type) => type === EventType.CREATED);
    watch.watcher(EventType.CREATED, State.CONNECTED, '/dir');
    expect(watch.settled).toBe(false);
    watch.watcher(EventType.CHILD, State.CONNECTED, '/dir');
    expect(await watch.changed).toBe('changed');
    owner.close();
  });
});
