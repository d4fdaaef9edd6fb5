/**
 * `@coord/recipes`: coordination recipes written once against the `Driver` interface of
 * `@coord/core`. Each recipe is one file that opens with its protocol and its behaviour
 * under session loss.
 */
export { LockRecipe, type Lock, type LockKind } from './lock.js';
export { NodeLease, type Lease } from './lease.js';
export { ReadWriteLockRecipe, type ReadWriteLock } from './rwlock.js';
export { SemaphoreRecipe, type Semaphore, type SemaphoreOptions } from './semaphore.js';
export { BarrierRecipe, type Barrier, type RaiseOptions } from './barrier.js';
export { DoubleBarrierRecipe, type DoubleBarrier, type DoubleBarrierOptions, type BarrierMember } from './double-barrier.js';
export { ElectionRecipe, type Election, type ElectionOptions, type Leader, type Leadership, type ObserveOptions } from './election.js';
export {
  GroupRecipe,
  listGroups,
  type Group,
  type GroupEvent,
  type GroupOptions,
  type GroupWatchOptions,
  type JoinOptions,
  type Membership,
  type RejoinOutcome,
} from './group.js';
export {
  QueueRecipe,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type ConsumeOptions,
  type Message,
  type MessageState,
  type PutOptions,
  type Queue,
  type QueueOptions,
} from './queue.js';
