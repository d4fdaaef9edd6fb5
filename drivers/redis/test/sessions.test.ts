import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { DEFAULT_SETTINGS, type SessionStateChange } from '@coord/core';
import type { Connection } from '../src/connection.js';
import { Layout } from '../src/layout.js';
import { SessionKeeper } from '../src/session.js';

/**
 * Just enough of a Connection for the keeper: every request is recorded, and the server's
 * answer to a renewal is whatever `alive` says.
 */
class FakeConnection {
  readonly client = new EventEmitter();
  readonly closed = new AbortController();
  readonly sent: string[] = [];
  alive = 1;
  ready = true;

  get closedSignal(): AbortSignal {
    return this.closed.signal;
  }

  async whenReady(): Promise<void> {}

  async command(name: string, args: (string | number)[]): Promise<unknown> {
    this.sent.push([name, ...args].join(' '));
    return 'OK';
  }

  async pipeline(
    commands: readonly (readonly [string, ...(string | number)[]])[],
    _deadline: number,
    then?: { script: { name: string } },
  ): Promise<unknown[]> {
    for (const command of commands) this.sent.push(command.join(' '));
    if (then !== undefined) this.sent.push(`script ${then.script.name}`);
    return [...commands.map(([name]) => (name === 'PEXPIRE' ? this.alive : 'OK')), ...(then === undefined ? [] : [1])];
  }

  async run(script: { name: string }): Promise<unknown> {
    this.sent.push(`script ${script.name}`);
    return 1;
  }
}

const layout = new Layout('t');
const keepers: SessionKeeper[] = [];

async function start(ttl = 3_000): Promise<{ keeper: SessionKeeper; conn: FakeConnection; changes: SessionStateChange[]; ended: string[] }> {
  const conn = new FakeConnection();
  const changes: SessionStateChange[] = [];
  const ended: string[] = [];
  const keeper = new SessionKeeper(conn as unknown as Connection, layout, { ...DEFAULT_SETTINGS, sessionTimeout: ttl }, {
    onChange: (change) => changes.push(change),
    onEnded: (session) => ended.push(session.id),
  });
  keepers.push(keeper);
  await keeper.start(performance.now() + 1_000);
  return { keeper, conn, changes, ended };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

afterEach(async () => {
  for (const keeper of keepers.splice(0)) await keeper.close(performance.now() + 100);
});

describe('SessionKeeper', () => {
  it('creates the session key with the TTL, and its lease with it', async () => {
    const { keeper, conn } = await start();
    expect(conn.sent).toEqual([`SET ${keeper.key} 1 PX 3000`, 'script lease']);
    expect(keeper.current.state).toBe('connected');
    expect(keeper.key).toBe(`{t}:s:${keeper.current.id}`);
  });

  it('ends the session at once when the server says its key was deleted, and opens the next one', async () => {
    const { keeper, changes, ended } = await start();
    const first = keeper.current;
    keeper.invalidated(['{t}:n:/unrelated']);
    expect(first.signal.aborted).toBe(false);
    keeper.invalidated([keeper.key]);
    expect(first.state).toBe('expired'); // synchronously
    expect(ended).toEqual([first.id]);
    await settle();
    expect(keeper.current).not.toBe(first);
    expect(changes.map((c) => `${c.session === first ? 'first' : 'next'} ${c.previous}->${c.state}`)).toEqual([
      'first connected->expired',
      'next expired->connected',
    ]);
  });

  it('on a flush notice (no key named) checks with a renewal instead of ending the session blindly', async () => {
    const { keeper, conn } = await start();
    const first = keeper.current;
    keeper.invalidated(undefined);
    await settle();
    expect(first.state).toBe('connected');
    expect(conn.sent.filter((line) => line.startsWith('PEXPIRE'))).toHaveLength(2);
    conn.alive = 0; // now the key is gone
    keeper.invalidated(undefined);
    await settle();
    expect(first.state).toBe('expired');
    expect(conn.sent).toContain('script end'); // it tells the server it gave the session up
  });

  it('a missing key at renewal is terminal: the session is never renewed again', async () => {
    const { keeper, conn } = await start(300);
    const first = keeper.current;
    conn.alive = 0;
    // The next heartbeat (a third of the TTL) finds the key gone.
    for (const start = performance.now(); first.state !== 'expired' && performance.now() - start < 2_000; ) await settle();
    expect(first.state).toBe('expired');
    expect(first.signal.reason).toMatchObject({ code: 'SESSION_EXPIRED' });
    for (const start = performance.now(); keeper.current === first && performance.now() - start < 2_000; ) await settle();
    expect(keeper.current.id).not.toBe(first.id);
    expect(conn.sent.filter((line) => line.startsWith('SET'))).toHaveLength(2); // the first, and the next session
  });
});
