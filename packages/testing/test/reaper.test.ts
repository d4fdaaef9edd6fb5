// No orphans: a test process that dies in any way takes its servers and directories with it.
// Each case runs a separate Node process that starts real servers, then ends it.
import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually, serverAvailable, sweepOrphans } from '../src/index.js';
import { allGone, running } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hold-servers.js', import.meta.url));

interface Held {
  readonly child: ChildProcess;
  readonly pids: number[];
  readonly dirs: string[];
  readonly watchdog: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the fixture and waits for its report. */
async function hold(mode: string, ...kinds: string[]): Promise<Held> {
  const child = spawn(process.execPath, [FIXTURE, mode, ...kinds], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  await eventually(() => output.includes('\n') || child.exitCode !== null, 'the fixture reports its servers', 120_000, 20);
  if (!output.includes('\n')) throw new Error(`the fixture failed:\n${errors}`);
  const report = JSON.parse(output.split('\n')[0] as string) as Omit<Held, 'child' | 'exited'>;
  expect(report.pids).toHaveLength(kinds.length);
  if (mode === 'wait') for (const pid of report.pids) expect(running(pid)).toBe(true);
  return { ...report, child, exited };
}

async function cleanedUp(held: Held): Promise<void> {
  await allGone(held.pids, 'servers killed');
  await eventually(() => held.dirs.every((dir) => !existsSync(dir)), 'directories removed', 10_000, 50);
}

const describeBoth = serverAvailable('redis') && serverAvailable('zookeeper') ? describe : describe.skip;

describeBoth('no orphans', () => {
  it('SIGKILL of the test process: the watchdog kills its servers and removes their directories', async () => {
    const held = await hold('wait', 'redis', 'zookeeper');
    held.child.kill('SIGKILL');
    await held.exited;
    await cleanedUp(held);
    await allGone([held.watchdog], 'watchdog exits');
  });

  it('SIGTERM: the handler kills the servers, then the process dies of the signal as usual', async () => {
    const held = await hold('wait', 'redis');
    held.child.kill('SIGTERM');
    expect(await held.exited).toEqual({ code: null, signal: 'SIGTERM' });
    await cleanedUp(held);
  });

  it('exit without stopping the servers', async () => {
    const held = await hold('exit', 'redis');
    expect(await held.exited).toEqual({ code: 0, signal: null });
    await cleanedUp(held);
  });

  it('an uncaught exception', async () => {
    const held = await hold('throw', 'redis');
    expect((await held.exited).code).toBe(1);
    await cleanedUp(held);
  });

  it('watchdog killed too: the next start (or sweepOrphans) reaps what the dead process left', async () => {
    const held = await hold('wait', 'redis', 'zookeeper');
    process.kill(held.watchdog, 'SIGKILL');
    await allGone([held.watchdog], 'watchdog killed');
    held.child.kill('SIGKILL');
    await held.exited;
    for (const pid of held.pids) expect(running(pid)).toBe(true);
    const removed = sweepOrphans();
    expect(removed).toEqual(expect.arrayContaining(held.dirs));
    await cleanedUp(held);
  });
});
