/**
 * What a backend provides to run the conformance suite: how to reach it, and the fault
 * hooks it supports. A case that needs a hook the fixture lacks is skipped visibly, by name.
 */
import type { Driver } from '@coord/core';
import type { ProxiedTarget } from '@coord/testing';

/** Fault injection on one coordinator's driver (the unwrapped driver is passed). */
export interface FaultHooks {
  /** The server expires the session now (ZooKeeper: close a second handle on it; etcd: revoke the lease). */
  expireSession?(driver: Driver): Promise<void>;
  /**
   * Renewals stop reaching the server while the client keeps running (a partition of the
   * heartbeat, or a paused process): the session expires one TTL after its last renewal.
   */
  stopRenewing?(driver: Driver): Promise<void>;
  /**
   * Network faults for one client: fault proxies in front of the server, and the URL that goes
   * through them. A coordinator connected with that URL can be partitioned (`partition()` /
   * `blackhole()`), healed, or made to lose the reply to its next request (`loseNextReply()`)
   * while every other coordinator talks to the server directly. Use `TestContext.openProxied`.
   */
  proxy?(): Promise<ProxiedTarget>;
  /**
   * Crashes the whole backend (SIGKILL to every member), restarts it on the same ports and
   * data, and waits until it answers again.
   * What survives is the backend's: ZooKeeper and etcd keep their data (and ZooKeeper its
   * sessions, if the restart is shorter than their timeout); our Redis runs without
   * persistence, so it comes back empty and every session is gone.
   */
  restartBackend?(): Promise<void>;
  /**
   * Clusters only: SIGKILLs one member (the current leader, or one follower) and returns the
   * function that restarts it. The quorum survives, so recipes must keep working.
   */
  killMember?(role: 'leader' | 'follower'): Promise<() => Promise<void>>;
}

/** One backend under test. */
export interface DriverFixture {
  /** Backend name, shown in test titles. */
  readonly name: string;
  /** Starts the backend (if the fixture owns it). */
  setup?(): Promise<void>;
  /** Stops what `setup` started. */
  teardown?(): Promise<void>;
  /** The URL to connect to (read after `setup`). */
  url(): string;
  /**
   * Whether a second process can reach the same backend with {@link url} (a real server; not
   * memory://). The process-pause cases then pause a real child process; otherwise they
   * freeze this process's event loop.
   */
  readonly sharedAcrossProcesses?: boolean;
  /** Supported fault hooks. */
  readonly faults: FaultHooks;
  /**
   * Backend-side leaks after every coordinator of a test was closed: open sessions,
   * armed watches, ephemeral nodes. Returns descriptions; empty means clean.
   */
  leaks?(): Promise<string[]>;
}

/** How a case ends a session (see `TestContext.loseSession`). */
export type SessionLoss = 'expireSession' | 'stopRenewing';

/**
 * Whether a fixture can end a session the given way: `expireSession` needs its hook;
 * `stopRenewing` needs its hook or network fault proxies (a silenced client).
 */
export function canLoseSession(fixture: DriverFixture, how: SessionLoss): boolean {
  const { faults } = fixture;
  return how === 'expireSession' ? faults.expireSession !== undefined : faults.stopRenewing !== undefined || faults.proxy !== undefined;
}
