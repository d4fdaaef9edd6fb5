/**
 * The queue walk every ordered recipe shares (lock, read-write lock, election...): find the
 * nearest earlier node that blocks us, watch that one node only, and on every wake-up re-read
 * the directory and decide again. One release therefore wakes exactly one waiter (no herd),
 * and no notification is trusted without a fresh read (docs/design.md R1 and R2).
 */
import { CoordError, linkSignals, raceAbort, throwIfAborted, type Driver, type NodeRef } from '@coord/core';

/** Decides whether `other`, an earlier sibling, blocks `own`. */
export type BlockerTest = (own: NodeRef, other: NodeRef) => boolean;

/** Every earlier sequential node blocks (a plain mutex). */
export const everyEarlierNode: BlockerTest = (_own, other) => other.seq > 0n;

/** Where a wait happens. */
export interface TurnContext {
  readonly driver: Driver;
  /** The recipe's directory. */
  readonly dir: string;
  /** For messages: `lock /stack/42`. */
  readonly what: string;
}

/** The nearest earlier sibling of `own` that blocks it, or undefined when it is `own`'s turn. */
export function nearestBlocker(own: NodeRef, siblings: readonly NodeRef[], blocks: BlockerTest, what: string): NodeRef | undefined {
  const index = siblings.findIndex((node) => node.path === own.path);
  if (index < 0) {
    throw new CoordError('LOST', `${what}: own node ${own.name} is gone (deleted, or its session ended)`);
  }
  for (let i = index - 1; i >= 0; i -= 1) {
    const sibling = siblings[i] as NodeRef;
    if (blocks(own, sibling)) return sibling;
  }
  return undefined;
}

/**
 * Waits until no earlier sibling blocks `own`. `siblings` is the listing that came with
 * `own`'s create. Rejects with the signal's reason (timeout, abort, session end) or `LOST`
 * if `own` disappears; the caller removes `own` on rejection.
 */
export async function waitForTurn(
  context: TurnContext,
  own: NodeRef,
  siblings: readonly NodeRef[],
  blocks: BlockerTest,
  signal: AbortSignal,
): Promise<void> {
  const { driver, dir, what } = context;
  let current = siblings;
  for (;;) {
    const blocker = nearestBlocker(own, current, blocks, what);
    if (blocker === undefined) return;
    throwIfAborted(signal, what);
    await untilGone(driver, blocker.path, signal, what);
    current = (await driver.children(dir)).nodes;
  }
}

/**
 * Runs one watched step: `body` arms its watches with the signal it is given, which follows
 * `signal` and is aborted when the step ends, however it ends — so no watch armed in the step
 * outlives it (a watch on a missing node would otherwise wait for a create that never comes).
 * `body` may call `cancel()` to drop the step's watches early.
 */
export async function watchStep<R>(
  signal: AbortSignal | undefined,
  body: (watchSignal: AbortSignal, cancel: () => void) => Promise<R>,
): Promise<R> {
  const step = new AbortController();
  const linked = linkSignals(signal, step.signal);
  try {
    return await body(linked.signal, () => step.abort());
  } finally {
    step.abort();
    linked.dispose();
  }
}

/**
 * Reads one node with a watch and, if it exists, waits until the watch fires (it changed or
 * went). Returns false at once if the node is missing. The watch is cancelled on every exit.
 * @throws CoordError the signal's reason (timeout, abort, session end).
 */
export async function whenChanged(driver: Driver, path: string, signal: AbortSignal, what: string): Promise<boolean> {
  return watchStep(signal, async (watchSignal) => {
    const { node, changed } = await driver.get(path, { watch: true, signal: watchSignal });
    if (node === undefined) return false;
    if (changed !== undefined) await raceAbort(changed, signal, what);
    throwIfAborted(signal, what);
    return true;
  });
}

/**
 * Watches one node until it changes (for a queue node: until it is deleted). Resolves at
 * once if it is already gone. The watch is cancelled on every exit.
 * @throws CoordError the signal's reason (timeout, abort, session end).
 */
export async function untilGone(driver: Driver, path: string, signal: AbortSignal, what: string): Promise<void> {
  if (!(await whenChanged(driver, path, signal, what))) throwIfAborted(signal, what);
}
