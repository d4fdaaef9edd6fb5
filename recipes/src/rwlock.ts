/**
 * Read-write lock: many readers or one writer, FIFO, writers never starve.
 *
 * Protocol: readers and writers queue in the same directory as ephemeral sequential nodes,
 * `<path>/read-<attempt>-<seq>` and `<path>/write-<attempt>-<seq>` — the lock's queue (see
 * `LockRecipe`) with two blocking rules:
 * - a writer is blocked by every earlier node, so it watches its immediate predecessor of
 *   either kind and holds once it is first in line;
 * - a reader is blocked only by earlier exclusive nodes, so it watches the nearest earlier
 *   writer and holds once no writer precedes it, alongside any other readers.
 * A reader that arrives after a waiting writer queues behind that writer, so a stream of
 * readers cannot starve writers. Releasing a writer wakes exactly the readers it blocked
 * (they all hold next, together) or the one writer behind it; releasing a reader wakes at
 * most the one writer whose immediate predecessor it was. An uncontended acquire is one
 * create; a release is one delete.
 *
 * Any sequential node in the directory that is not a reader's counts as exclusive, so a
 * plain `coord.lock(path)` on the same path behaves as a writer instead of slipping past
 * the readers.
 *
 * Session loss: as for the lock — nodes are ephemeral, a dead holder's node goes with its
 * session and the waiters behind it proceed; the holder's `signal` aborts before the server
 * could expire the session; an abandoned or failed wait deletes its own node first.
 */
import { sequentialBudget, type Driver, type NodeRef } from '@coord/core';
import { everyEarlierNode, type BlockerTest } from './internal/wait-turn.js';
import { LockRecipe, type Lock, type LockKind } from './lock.js';

/**
 * What `coord.rwlock(path)` returns: two locks over one queue. Creating one does no I/O.
 * @example
 * ```ts
 * const rw = coord.rwlock('/config');
 * const config = await rw.read.withLock(async () => readConfig(), { timeout: 5_000 });
 * await using held = await rw.write.acquire({ timeout: 5_000 });
 * await writeConfig(config, { fencingToken: held.token, signal: held.signal });
 * ```
 */
export interface ReadWriteLock {
  /** The lock's path (both sides queue in this directory). */
  readonly path: string;
  /**
   * The shared side: held by any number of readers at once, while no writer holds or is
   * queued ahead of them. `tryAcquire()` succeeds while only readers hold.
   */
  readonly read: Lock;
  /** The exclusive side: held by one writer, with no reader, once everyone earlier is done. */
  readonly write: Lock;
}

const READ_PREFIX = 'read';
const WRITE_PREFIX = 'write';

/** Whether a queue node is a reader's (every other sequential node is exclusive). */
function isReaderNode(node: NodeRef): boolean {
  return node.name.startsWith(`${READ_PREFIX}-`);
}

/** A reader is blocked by earlier exclusive nodes only; other readers share with it. */
const blockedByWriters: BlockerTest = (_own, other) => other.seq > 0n && !isReaderNode(other);

// Both sides share the path: each reserves room for the longer node name of the two.
const RESERVE = Math.max(sequentialBudget(`${READ_PREFIX}-`), sequentialBudget(`${WRITE_PREFIX}-`));
const READ_KIND: LockKind = { prefix: READ_PREFIX, blocks: blockedByWriters, label: 'read lock', reserve: RESERVE };
const WRITE_KIND: LockKind = { prefix: WRITE_PREFIX, blocks: everyEarlierNode, label: 'write lock', reserve: RESERVE };

/** A {@link ReadWriteLock} over one queue of ephemeral sequential nodes. */
export class ReadWriteLockRecipe implements ReadWriteLock {
  readonly path: string;
  readonly read: Lock;
  readonly write: Lock;

  /**
   * @param driver the driver to use
   * @param path the lock's directory (the lock owns its subtree)
   * @example
   * ```ts
   * const rw = new ReadWriteLockRecipe(driver, '/config');
   * await rw.read.withLock(async () => readConfig());
   * ```
   * @throws CoordError `INVALID_ARGUMENT` for a malformed path.
   */
  constructor(driver: Driver, path: string) {
    this.read = new LockRecipe(driver, path, READ_KIND);
    this.write = new LockRecipe(driver, path, WRITE_KIND);
    this.path = this.read.path;
  }
}
