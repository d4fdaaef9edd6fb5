/**
 * One demo worker: a process that, round after round, takes the stack's lock, updates the
 * stack through the fencing store, and releases. One worker crashes while holding the lock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isCoordError, type Coordinator, type Lease } from 'coord';
import { crash, untilAborted } from './crash.js';
import type { HolderMonitor } from './holders.js';
import { describeError, type Log } from './log.js';
import type { StackStore } from './stack-store.js';

/** What a worker needs; the store, monitor, log and tally are shared by every worker. */
export interface WorkerContext {
  /** `worker-2`. */
  readonly name: string;
  /** The worker's own coordinator (its own session). */
  readonly coord: Coordinator;
  /** The lock path, `/stack/42`. */
  readonly path: string;
  /** How many updates to attempt. */
  readonly rounds: number;
  /** The 1-based round in which this worker crashes, if it does. */
  readonly crashRound: number | undefined;
  /** Acquire timeout, ms. */
  readonly acquireTimeout: number;
  readonly store: StackStore;
  readonly holders: HolderMonitor;
  readonly log: Log;
  readonly tally: Tally;
}

/** Events counted across workers. */
export interface Tally {
  crashes: number;
  timeouts: number;
  /** Writes by crashed holders that woke up late, refused by the fencing check (expected). */
  staleWritesFenced: number;
}

/** Runs a worker's rounds; returns after its last round or its crash. */
export async function runWorker(ctx: WorkerContext): Promise<void> {
  const { name, path, log } = ctx;
  for (let round = 1; round <= ctx.rounds; round += 1) {
    let held: Lease;
    try {
      held = await ctx.coord.lock(path).acquire({ timeout: ctx.acquireTimeout });
    } catch (error) {
      if (!isCoordError(error, 'TIMEOUT')) throw error;
      ctx.tally.timeouts += 1;
      log(`${name} gave up waiting for ${path} after ${ctx.acquireTimeout} ms`);
      continue;
    }
    ctx.holders.enter(name);
    log(`${name} holds ${path} (token ${held.token})`);
    if (round === ctx.crashRound) {
      await crashWhileHolding(ctx, held);
      return;
    }
    await update(ctx, held);
    // Out of the critical section before the delete can wake the next waiter.
    ctx.holders.leave(name);
    await held.release();
  }
}

/** The "update": takes a while, then writes through the fencing store. */
async function update(ctx: WorkerContext, held: Lease): Promise<void> {
  const { name, log } = ctx;
  const stillHeld = await sleep(50 + Math.random() * 100, true, { signal: held.signal }).catch(() => false);
  if (!stillHeld) {
    // A careful client stops writing the moment its lease may be gone.
    log(`${name} lost its lease mid-update (${describeError(held.signal.reason)}); not writing`);
    return;
  }
  const { accepted, previous } = ctx.store.write(held.token);
  log(
    accepted
      ? `${name} updated stack 42 with token ${held.token} (accepted: > ${previous}), releasing`
      : `${name} update with token ${held.token} REJECTED by the stack store (it already accepted ${previous})`,
  );
}

/** Crashes mid-update and reports when the lease's signal tells the holder it may be lost. */
async function crashWhileHolding(ctx: WorkerContext, held: Lease): Promise<void> {
  const { name, path, log } = ctx;
  const signal = held.signal; // read before the crash so the lease watches its session
  log(`${name} CRASHES while holding ${path}: ${crash(ctx.coord)}`);
  ctx.tally.crashes += 1;
  const reason = await untilAborted(signal);
  // From here the lock may be granted to another worker.
  ctx.holders.leave(name);
  log(`${name} held.signal aborted (${describeError(reason)}): the lease may be lost, it must not write`);
  await writeAfterWaking(ctx, held);
}

/**
 * The case a lock alone cannot prevent: the paused process wakes up after someone else took
 * over, never looks at its signal, and writes anyway. The fencing token makes it harmless.
 */
async function writeAfterWaking(ctx: WorkerContext, held: Lease): Promise<void> {
  const { name, log } = ctx;
  await ctx.store.whenAbove(held.token, ZOMBIE_WAKE_MS);
  log(`${name} wakes from its pause unaware and writes with its old token ${held.token}`);
  const { accepted, previous } = ctx.store.write(held.token);
  if (accepted) {
    log(`${name} stale write accepted: nobody had written since, so it was still the latest`);
    return;
  }
  ctx.tally.staleWritesFenced += 1;
  log(`${name} stale write REFUSED by the stack store (token ${held.token} <= ${previous}): fencing works`);
}

/** How long a crashed worker "sleeps" at most before its stale write. */
const ZOMBIE_WAKE_MS = 3_000;
