/**
 * Process pauses: a client holding a lock, a leadership, a queue message and a group
 * membership (with `rejoin`) is frozen — a long GC pause, a stopped container, a laptop lid.
 * On real backends it is a real child process stopped with SIGSTOP and resumed with SIGCONT
 * (the suite's network cases silence the network instead, so the client's own event loop and
 * native handles never see a session that expired while they were frozen — that is how a
 * ZooKeeper addon crash on resume went unseen); on memory:// the test's event loop is blocked.
 *
 * Past the session: every signal aborts, releasing settles (resolves or rejects with a typed
 * error) and the process keeps running; meanwhile the others took over with larger tokens;
 * afterwards the client works again on a fresh session. Shorter than the session: nothing is
 * lost and nothing aborts.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Coordinator } from 'coord';
import type { DriverFixture } from '../fixture.js';
import type { TestContext } from '../harness.js';
import { childSide, inProcessSide, type PausedSide } from '../pause/paused-side.js';
import type { HeldTokens, Holding, Outcome, PausePaths } from '../pause/paused-client.js';
import { background, delay, eventually, rejectionCode } from '../util.js';

/** The paused client's session timeout: short, so each case pauses for seconds, not minutes. */
const SESSION_MS = 2_000;

const HOLDINGS: readonly Holding[] = ['lock', 'election', 'queue', 'group'];

function pausePaths(t: TestContext): PausePaths {
  return {
    lock: t.path('lock'),
    election: t.path('election'),
    queue: t.path('queue'),
    group: `pause-${t.prefix.replace(/[^a-z0-9]+/gi, '-').replace(/^-/, '')}`,
  };
}

/** Whether an outcome is a resolution or a typed CoordError rejection (never a raw error). */
function settledCleanly(outcome: Outcome): boolean {
  return outcome === 'ok' || 'code' in outcome;
}

/** Registers the process-pause cases. */
export function processPauseCases(fixture: DriverFixture, context: () => TestContext): void {
  describe('process pauses', () => {
    let side: PausedSide | undefined;
    afterEach(() => {
      side?.dispose();
      side = undefined;
    });

    /** Prepares the group and the queue message, then starts the paused client and waits until it holds everything. */
    async function start(t: TestContext, other: Coordinator, paths: PausePaths): Promise<HeldTokens> {
      await other.group(paths.group).create();
      await other.queue(paths.queue).put({ job: 1 });
      if (fixture.sharedAcrossProcesses === true) {
        side = childSide(fixture.url(), SESSION_MS, paths);
      } else {
        side = inProcessSide(await t.open({ sessionTimeout: SESSION_MS }), paths);
      }
      return side.held();
    }

    it('paused past its session: every signal aborts, release settles, the others took over with larger tokens, and it works again', async () => {
      const t = context();
      // The other side's session outlives the pause even where the pause freezes it too.
      const other = await t.open({ sessionTimeout: 30_000 });
      const paths = pausePaths(t);
      const held = await start(t, other, paths);
      const paused = side!;

      // The others queue up behind the paused client before it stops.
      const lock = background(other.lock(paths.lock).acquire({ timeout: 60_000 }));
      const leadership = background(other.election<string>(paths.election).campaign('other', { timeout: 60_000 }));
      const message = background(other.queue(paths.queue).take({ timeout: 60_000 }));
      const gone = (): Promise<void> =>
        eventually(async () => !(await other.group(paths.group).members()).has('paused'), 'the paused member to leave the group', 60_000, 50);
      let tookOverDuringPause = false;
      // (A frozen loop resumes into a fresh session at once, so the member may be back before
      // anyone looks: there the rejoin's larger token below is the proof.)
      const takeover = async (): Promise<void> => {
        await Promise.all([lock, leadership, message, paused.othersRunDuringPause ? gone() : undefined]);
        tookOverDuringPause = true;
      };
      await paused.pause(Math.floor(1.5 * SESSION_MS), paused.othersRunDuringPause ? takeover : undefined, 60_000);
      if (paused.othersRunDuringPause) expect(tookOverDuringPause).toBe(true);
      else await takeover();

      const [mine, lead, taken] = [await lock, await leadership, await message];
      expect(mine.token > BigInt(held.lock)).toBe(true);
      expect(lead.token > BigInt(held.election)).toBe(true);
      expect(taken.value).toEqual({ job: 1 });
      expect(taken.token > BigInt(held.queue)).toBe(true);
      await mine.release();
      await lead.resign();
      await taken.ack();

      const report = await paused.report('long');
      for (const what of HOLDINGS) expect([what, report.aborted[what]]).toEqual([what, 'SESSION_EXPIRED']);
      for (const what of HOLDINGS) expect([what, settledCleanly(report.released[what])]).toEqual([what, true]);
      expect(report.rejoin).toBeDefined();
      expect(report.rejoin !== undefined && 'token' in report.rejoin && BigInt(report.rejoin.token) > BigInt(held.group)).toBe(true);
      expect(BigInt(report.reacquired ?? '0') > mine.token).toBe(true);
      expect(await paused.end()).toEqual({ code: 0, signal: null });
    });

    it('paused for less than its session: nothing aborts and nothing is handed over', async () => {
      const t = context();
      // The other side's session outlives the pause even where the pause freezes it too.
      const other = await t.open({ sessionTimeout: 30_000 });
      const paths = pausePaths(t);
      const held = await start(t, other, paths);
      const paused = side!;

      await paused.pause(Math.floor(SESSION_MS / 4));
      // Long enough after the resume for a lost session to show on either side.
      await delay(SESSION_MS);
      expect(await other.lock(paths.lock).tryAcquire()).toBeUndefined();
      expect(await other.election<string>(paths.election).leader()).toEqual({ value: 'paused', token: BigInt(held.election) });
      expect(await rejectionCode(other.queue(paths.queue).take({ timeout: 300 }))).toBe('TIMEOUT');
      expect((await other.group(paths.group).members()).has('paused')).toBe(true);

      const report = await paused.report('short');
      expect(report.aborted).toEqual({});
      expect(report.released).toEqual({ lock: 'ok', election: 'ok', queue: 'ok', group: 'ok' });
      expect(await paused.end()).toEqual({ code: 0, signal: null });
    });
  });
}
