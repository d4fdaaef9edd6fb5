/**
 * `@coord/recipes`: coordination recipes written once against the `Driver` interface of
 * `@coord/core`. Each recipe is one file that opens with its protocol and its behaviour
 * under session loss.
 */
export { QueueLock, type Lock, type QueueLockKind } from './lock.js';
export { NodeLease, type Lease } from './lease.js';
export {
  DistributedQueue,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type ConsumeOptions,
  type Message,
  type MessageState,
  type PutOptions,
  type Queue,
  type QueueOptions,
} from './queue.js';
