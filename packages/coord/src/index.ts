/**
 * `coord`: distributed-coordination recipes on ZooKeeper, etcd v3, Redis or memory, chosen
 * by URL. Start with {@link connect}.
 */
export { connect, type ConnectOptions } from './connect.js';
export { Coordinator, type CoordinatorEvents } from './coordinator.js';
export type { Lock, Lease } from '@coord/recipes';
export type { ReadWriteLock, Semaphore, SemaphoreOptions } from '@coord/recipes';
export type { Barrier, RaiseOptions, DoubleBarrier, DoubleBarrierOptions, BarrierMember } from '@coord/recipes';
export type { Election, ElectionOptions, Leader, Leadership, ObserveOptions } from '@coord/recipes';
export type { Group, GroupEvent, GroupOptions, GroupWatchOptions, JoinOptions, Membership, RejoinOutcome } from '@coord/recipes';
export { MAX_PRIORITY, MIN_PRIORITY } from '@coord/recipes';
export type { ConsumeOptions, Message, MessageState, PutOptions, Queue, QueueOptions } from '@coord/recipes';
export {
  CoordError,
  ErrorCode,
  isCoordError,
  jsonCodec,
  rawCodec,
  parseUrl,
  type Codec,
  type Session,
  type SessionState,
  type SessionStateChange,
  type WaitOptions,
  type Driver,
  type ConnectionConfig,
} from '@coord/core';
