/**
 * One engine of the master/worker story (think of an OpenStack Heat engine): a process with
 * its own session that joins the `heat-engines` group, campaigns to be master, and works
 * tasks off the queue. Whoever wins the election is master: it hands the backlog out as
 * queue messages while its leadership lasts. Every engine, the master included, takes
 * tasks, does them, and acks them.
 *
 * A crash here is a process that freezes (see `crash.ts`): it stops heartbeating and stops
 * doing anything, and in particular never acks, nacks, resigns or leaves. Its session's
 * expiry is what gives its leadership, its group membership and its claimed message away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { linkSignals } from '@coord/core';
import { isCoordError, type Coordinator, type Leadership, type Message } from 'coord';
import { crash, untilAborted } from '../crash.js';
import type { HolderMonitor } from '../holders.js';
import { describeError, type Log } from '../log.js';
import type { TaskLedger } from './ledger.js';

/** Where the story's recipes live. */
export const PATHS = { group: 'heat-engines', election: '/heat/master', queue: '/heat/tasks' } as const;

/** A task as it travels on the queue. */
export interface TaskMessage {
  readonly task: number;
}

/** Who crashes when; shared by every engine, so exactly one master and one worker crash. */
export interface CrashPlan {
  /** The first master crashes after handing out this many tasks. */
  readonly masterAfterDispatching: number;
  /** A worker (not a master) crashes while running its this-many-th task. */
  readonly workerOnTask: number;
  masterCrashed: boolean;
  workerCrashed: boolean;
}

/** What an engine needs; the ledger, monitors, plan and log are shared by every engine. */
export interface EngineContext {
  /** `engine-2`. */
  readonly name: string;
  readonly coord: Coordinator;
  readonly ledger: TaskLedger;
  /** Records masters: at most one at a time. */
  readonly masters: HolderMonitor;
  readonly plan: CrashPlan;
  readonly log: Log;
  /** Aborted when every task is done: engines wind down and leave cleanly. */
  readonly finished: AbortSignal;
}

/** Counters an engine reports. */
export interface EngineReport {
  readonly crashed: boolean;
  readonly tasksDone: number;
}

/** Runs one engine until the story is finished or the engine crashes. */
export async function runEngine(ctx: EngineContext): Promise<EngineReport> {
  const { coord, name } = ctx;
  const membership = await coord.group(PATHS.group).join(name, { capabilities: { role: 'heat-engine' } });
  const alive = new AbortController();
  const stopWhenFinished = (): void => alive.abort(ctx.finished.reason);
  ctx.finished.addEventListener('abort', stopWhenFinished, { once: true });
  const engine: Engine = { ...ctx, alive, crashed: false, master: false, tasksDone: 0 };
  try {
    await Promise.all([campaign(engine), work(engine)]);
  } finally {
    ctx.finished.removeEventListener('abort', stopWhenFinished);
  }
  // A frozen process cleans nothing up: its session's expiry does that for it.
  if (!engine.crashed) await membership.leave();
  return { crashed: engine.crashed, tasksDone: engine.tasksDone };
}

/** An engine's mutable state. */
interface Engine extends EngineContext {
  /** Aborted when the engine crashes or the story is finished. */
  readonly alive: AbortController;
  crashed: boolean;
  master: boolean;
  tasksDone: number;
}

/** Freezes the engine: no more heartbeats, no more work, no clean-up. */
function freeze(engine: Engine, why: string): void {
  engine.crashed = true;
  engine.log(`${engine.name} CRASHES ${why}: ${crash(engine.coord)}`);
  engine.alive.abort(new Error(`${engine.name} crashed`));
}

/** Campaigns until elected, then serves as master until leadership ends or the story does. */
async function campaign(engine: Engine): Promise<void> {
  const { coord, name, log } = engine;
  let leadership: Leadership<string>;
  try {
    leadership = await coord.election<string>(PATHS.election).campaign(name, { signal: engine.alive.signal });
  } catch (error) {
    if (engine.alive.signal.aborted) return;
    throw error;
  }
  engine.master = true;
  engine.masters.enter(name);
  log(`${name} is elected master (token ${leadership.token})`);
  const signal = leadership.signal; // read now, so the handle watches its session from here on
  await dispatch(engine, leadership);
  if (engine.crashed) {
    const reason = await untilAborted(signal);
    engine.masters.leave(name);
    log(`${name} leadership.signal aborted (${describeError(reason)}): it must not hand out tasks any more`);
    return;
  }
  engine.masters.leave(name);
  await leadership.resign();
  log(`${name} resigns as master`);
}

/** Hands the backlog out while leadership lasts; the first master crashes part-way. */
async function dispatch(engine: Engine, leadership: Leadership<string>): Promise<void> {
  const { coord, name, ledger, plan, log } = engine;
  const queue = coord.queue<TaskMessage>(PATHS.queue);
  let handedOut = 0;
  for (let task = ledger.nextUndispatched(); task !== undefined; task = ledger.nextUndispatched()) {
    // The check a careful master makes before every act of leadership.
    if (leadership.signal.aborted || engine.alive.signal.aborted) return;
    await queue.put({ task });
    ledger.markDispatched(task);
    handedOut += 1;
    log(`${name} (master) puts task ${task} on the queue`);
    if (!plan.masterCrashed && handedOut === plan.masterAfterDispatching) {
      plan.masterCrashed = true;
      freeze(engine, `as master after handing out ${handedOut} tasks`);
      return;
    }
    await sleep(30);
  }
  // Everything is handed out: stay master (a backup waits) until the story ends.
  using over = linkSignals(engine.alive.signal, leadership.signal);
  await untilAborted(over.signal);
}

/** Takes, does and acks tasks until the engine crashes or the story is finished. */
async function work(engine: Engine): Promise<void> {
  const queue = engine.coord.queue<TaskMessage>(PATHS.queue);
  let taken = 0;
  for (;;) {
    let message: Message<TaskMessage>;
    try {
      message = await queue.take({ signal: engine.alive.signal });
    } catch (error) {
      if (engine.alive.signal.aborted && isCoordError(error)) return;
      throw error;
    }
    taken += 1;
    const { task } = message.value;
    const again = engine.ledger.markDelivered(task);
    engine.log(`${engine.name} takes task ${task} (message token ${message.token})${again ? ': delivered again, its last taker never acked it' : ''}`);
    const { plan } = engine;
    if (!plan.workerCrashed && !engine.master && taken === plan.workerOnTask) {
      plan.workerCrashed = true;
      freeze(engine, `while running task ${task}, before acking it`);
      return;
    }
    await sleep(40 + Math.random() * 80);
    if (engine.crashed) return; // froze (as master) while working: the message is never acked
    // Record the result first, then ack: a crash in between means a redelivery, never a loss.
    const outcome = engine.ledger.complete(task, engine.name);
    engine.log(outcome === 'done' ? `${engine.name} finished task ${task}, acking it` : `${engine.name} had task ${task} again after it was done (at-least-once): acking it without redoing it`);
    await message.ack();
    engine.tasksDone += 1;
  }
}
