/**
 * The one {@link ClusterHandle} implementation: members are ordinary {@link Server}s; the
 * kind supplies how to tell which member leads.
 */
import { CoordError, sleep } from '@coord/core';
import type { ServerKind } from './binaries.js';
import type { ClusterHandle, RestartOptions, ServerHandle } from './handle.js';
import { withDeadline } from './net.js';
import type { Server } from './server.js';

/** Asks the running members who leads; undefined while nobody does (an election). */
export type LeaderFinder = (running: readonly Server[], signal: AbortSignal) => Promise<Server | undefined>;

const DEFAULT_LEADER_TIMEOUT = 30_000;
const ASK_TIMEOUT = 2_000;

/** A quorum of servers of one kind. */
export class Cluster implements ClusterHandle {
  readonly kind: ServerKind;
  readonly members: readonly Server[];
  readonly #findLeader: LeaderFinder;
  #stopped: Promise<void> | undefined;

  constructor(kind: ServerKind, members: readonly Server[], findLeader: LeaderFinder) {
    this.kind = kind;
    this.members = members;
    this.#findLeader = findLeader;
  }

  get url(): string {
    return `${this.kind}://${this.members.map((member) => `${member.host}:${member.port}`).join(',')}`;
  }

  member(index: number): ServerHandle {
    return this.#member(index);
  }

  kill(index: number): Promise<void> {
    return this.#member(index).kill();
  }

  restart(index: number, options?: RestartOptions): Promise<void> {
    return this.#member(index).restart(options);
  }

  pause(index: number): Promise<void> {
    return this.#member(index).pause();
  }

  resume(index: number): Promise<void> {
    return this.#member(index).resume();
  }

  async leader(options: { readonly timeout?: number } = {}): Promise<number> {
    const timeout = options.timeout ?? DEFAULT_LEADER_TIMEOUT;
    const until = performance.now() + timeout;
    for (;;) {
      const running = this.members.filter((member) => member.state === 'running');
      const found = await withDeadline(ASK_TIMEOUT, (signal) => this.#findLeader(running, signal)).catch(() => undefined);
      if (found !== undefined) return this.members.indexOf(found);
      if (performance.now() > until) {
        throw new CoordError('TIMEOUT', `@coord/testing: no ${this.kind} leader within ${timeout} ms`);
      }
      await sleep(100);
    }
  }

  log(): string {
    return this.members.map((member) => `===== ${member.label} =====\n${member.log()}`).join('\n');
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stopInTurn();
    return this.#stopped;
  }

  /**
   * One member after the other: members stopped all at once each wait for peers that are
   * going away too (an etcd cluster takes 7 s that way, against milliseconds in turn).
   */
  async #stopInTurn(): Promise<void> {
    for (const member of this.members) await member.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #member(index: number): Server {
    const member = this.members[index];
    if (member === undefined) {
      throw new RangeError(`@coord/testing: no member ${index} in a ${this.members.length}-member ${this.kind} cluster`);
    }
    return member;
  }
}
