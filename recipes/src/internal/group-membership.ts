/**
 * A group membership: one ephemeral member node per incarnation, held through a
 * {@link NodeLease} (token, signal, idempotent delete). Without `rejoin` there is one
 * incarnation. With `rejoin` the membership listens to the driver's session changes and, on
 * every fresh session, creates a new node (a new join id, a greater token) with its latest
 * capabilities. Updates, rejoins and the leave run one at a time, so an update never lands
 * on a node of another incarnation.
 */
import {
  CoordError,
  EMPTY,
  isCoordError,
  reportListenerError,
  rawCodec,
  sleep,
  type Codec,
  type Driver,
  type NodeRef,
  type Session,
  type SessionStateChange,
} from '@coord/core';
import { NodeLease } from '../lease.js';
import { attemptId } from './attempt.js';
import { decodeMember, encodeMember } from './group-nodes.js';
import { dropForeignNode, toError } from './own-node.js';

/** What `join` reports about each rejoin (see {@link JoinOptions.rejoin}). */
export type RejoinOutcome =
  | { readonly rejoined: true; readonly token: bigint }
  | { readonly rejoined: false; readonly error: CoordError };

/** Options of {@link Group.join}. */
export interface JoinOptions<T> {
  /** The member's capabilities, seen by `members()` and watchers (default: none, `undefined`). */
  readonly capabilities?: T;
  /**
   * Stay a member across session expiries. When the session expires the membership's
   * current `signal` aborts (`SESSION_EXPIRED`) and the others see it leave; once the
   * coordinator has a fresh session the membership joins again with its latest capabilities,
   * and from then on its `signal` and `token` are the new incarnation's (a new signal, a
   * greater token): read them again after a rejoin. It stops rejoining for good when the
   * group is gone (`GROUP_NOT_FOUND`) or another member took its id (`MEMBER_EXISTS`).
   */
  readonly rejoin?: boolean;
  /**
   * Told the outcome of every rejoin (only with `rejoin`). Must be a function (checked at
   * `join`); an exception it throws is reported as a process warning
   * (`CoordListenerWarning`), never as an uncaught exception.
   */
  readonly onRejoin?: (outcome: RejoinOutcome) => void;
}

/** A membership: what `join` returns. `await using` it to leave at the end of a block. */
export interface Membership<T> extends AsyncDisposable {
  /** The group's name. */
  readonly group: string;
  /** This member's id in the group. */
  readonly memberId: string;
  /** The latest capabilities given to `join` or `update`. */
  readonly capabilities: T;
  /** Fencing token of the current incarnation: greater for every later join of this id. */
  readonly token: bigint;
  /**
   * Aborted as soon as this membership may be over: its session may have ended, its node was
   * deleted by someone else, or it left. With `rejoin`, the current incarnation's signal.
   */
  readonly signal: AbortSignal;
  /** Whether `leave()` has completed. */
  readonly left: boolean;
  /**
   * Replaces the member's capabilities (watchers see an `update`).
   * @throws CoordError `SESSION_EXPIRED`/`LOST` if the membership is over (with `rejoin`, the
   *   capabilities are kept and published by the rejoin instead); `INVALID_ARGUMENT` if the
   *   codec cannot encode them; `CLOSED`.
   */
  update(capabilities: T): Promise<void>;
  /**
   * Leaves the group (and stops rejoining). Idempotent; does not throw after the membership
   * was lost.
   * @throws CoordError `UNAVAILABLE`/`TIMEOUT` if the delete could not be confirmed while the
   *   session lives; `leave()` may then be retried.
   */
  leave(): Promise<void>;
}

/** What a membership works on. */
export interface MemberContext<T> {
  readonly driver: Driver;
  readonly group: string;
  readonly memberId: string;
  /** The member node's path. */
  readonly path: string;
  readonly codec: Codec<T>;
  /** For messages: `group workers member w1`. */
  readonly what: string;
}

/** One incarnation's node, join id and session. */
export interface Incarnation {
  readonly node: NodeRef;
  readonly joinId: string;
  readonly session: Session;
}

/** The live state of one incarnation. */
interface Current {
  readonly lease: NodeLease;
  readonly joinId: string;
  readonly session: Session;
  /** The node's data version (updates are conditional on it). */
  version: number;
}

const STALE_ATTEMPTS = 5;
const REJOIN_RETRY_MS = 200;

/**
 * Creates the member node, ephemeral on `session`, only if the group exists (atomically).
 * `stale` is this membership's previous incarnation (join id and node token): its node can
 * outlive its session for a while (a partition: the server has not expired the old session
 * yet); it is ours, so it is deleted and the create retried. So is a node holding `joinId`
 * itself, which a driver's retry of this very create (its first reply lost) reports as
 * `NODE_EXISTS`.
 * @throws CoordError `GROUP_NOT_FOUND`, `MEMBER_EXISTS`, `SESSION_EXPIRED`, or the driver's error.
 */
export async function createMember<T>(
  context: MemberContext<T>,
  joinId: string,
  payload: Uint8Array,
  session: Session,
  stale: OwnJoin | undefined,
): Promise<NodeRef> {
  const { driver, path, what } = context;
  const data = encodeMember(joinId, payload);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const node = await driver.create(path, data, { ephemeral: true, requireParent: true });
      // The session changed during the request: the node is not bound to the one we hold.
      if (node.owner !== session.id) await dropForeignNode(driver, node, session, what, 'the join');
      return node;
    } catch (error) {
      if (isCoordError(error, 'NO_NODE')) throw new CoordError('GROUP_NOT_FOUND', `group ${context.group}: no such group`, { cause: error });
      if (!isCoordError(error, 'NODE_EXISTS')) throw error;
      // Our own join id: the driver retried a create whose reply was lost and found our node.
      // Its token is unknown (a read does not carry one), so delete it and create again.
      const ours: OwnJoin[] = stale === undefined ? [{ joinId }] : [{ joinId }, stale];
      if (attempt >= STALE_ATTEMPTS || !(await removeStale(context, ours))) {
        throw new CoordError('MEMBER_EXISTS', `${what}: the member id is taken`, { cause: error });
      }
    }
  }
}

/** A join of this membership whose node may still exist: its join id, and its token if known. */
interface OwnJoin {
  readonly joinId: string;
  readonly token?: bigint;
}

/** Deletes the node at the member path if it holds one of `ours` join ids; false if it is someone else's. */
async function removeStale<T>(context: MemberContext<T>, ours: readonly OwnJoin[]): Promise<boolean> {
  const { node } = await context.driver.get(context.path);
  if (node === undefined) return true; // gone meanwhile: create again
  const joinId = decodeMember(node, rawCodec).joinId;
  const own = ours.find((join) => join.joinId === joinId);
  if (own === undefined) return false;
  // Conditional: if it changed since our read, the next attempt looks again. With the token,
  // a node re-created by someone else since the read is not touched either.
  const options = own.token === undefined ? { version: node.version } : { version: node.version, token: own.token };
  await context.driver.delete(context.path, options).catch((error: unknown) => {
    if (!isCoordError(error, 'BAD_VERSION')) throw error;
  });
  return true;
}

/** The {@link Membership} handle. */
export class GroupMembership<T> implements Membership<T> {
  readonly group: string;
  readonly memberId: string;
  readonly #context: MemberContext<T>;
  readonly #onRejoin: ((outcome: RejoinOutcome) => void) | undefined;
  /** Stops a rejoin's retry wait when the membership leaves or the coordinator closes. */
  readonly #stopRejoin = new AbortController();
  #current: Current;
  #capabilities: T;
  #rejoin: boolean;
  #unsubscribe: (() => void) | undefined;
  /** Serialises updates, rejoins and the leave. */
  #queue: Promise<unknown> = Promise.resolve();
  #leaving: Promise<void> | undefined;
  #left = false;

  constructor(context: MemberContext<T>, first: Incarnation, capabilities: T, options: JoinOptions<T>) {
    this.#context = context;
    this.group = context.group;
    this.memberId = context.memberId;
    this.#capabilities = capabilities;
    this.#current = this.#incarnation(first);
    this.#rejoin = options.rejoin === true;
    this.#onRejoin = options.onRejoin;
    if (!this.#rejoin) return;
    this.#unsubscribe = context.driver.onSessionState(this.#onSessionState);
    // The session may have changed between the create and the subscription.
    if (context.driver.session.id !== first.session.id) void this.#serial(() => this.#rejoinNow());
  }

  get token(): bigint {
    return this.#current.lease.token;
  }

  get signal(): AbortSignal {
    return this.#current.lease.signal;
  }

  get capabilities(): T {
    return this.#capabilities;
  }

  get left(): boolean {
    return this.#left;
  }

  async update(capabilities: T): Promise<void> {
    const payload = capabilities === undefined ? EMPTY : this.#context.codec.encode(capabilities);
    return this.#serial(() => this.#update(capabilities, payload));
  }

  leave(): Promise<void> {
    // Stop rejoining now, not in turn: a rejoin retrying against an unreachable backend
    // holds the queue, and would hold the leave behind it.
    if (this.#leaving === undefined) this.#stopRejoining();
    this.#leaving ??= this.#serial(async () => {
      await this.#current.lease.release();
      this.#left = true;
    }).catch((error: unknown) => {
      this.#leaving = undefined; // still a member: let the caller retry
      throw error;
    });
    return this.#leaving;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }

  toJSON(): { group: string; memberId: string; token: string; left: boolean } {
    return { group: this.group, memberId: this.memberId, token: this.token.toString(), left: this.#left };
  }

  async #update(capabilities: T, payload: Uint8Array): Promise<void> {
    const { what, driver, path } = this.#context;
    if (this.#leaving !== undefined) throw new CoordError('LOST', `${what}: left the group`);
    const current = this.#current;
    if (current.session.signal.aborted) {
      if (!this.#rejoin) throw toError(current.session.signal.reason);
      this.#capabilities = capabilities; // the rejoin publishes them
      return;
    }
    try {
      // Conditional on our node (token) and its version: never another incarnation's node.
      const options = { version: current.version, token: current.lease.token };
      current.version = await driver.set(path, encodeMember(current.joinId, payload), options);
      this.#capabilities = capabilities;
    } catch (error) {
      if (this.#rejoin && current.session.signal.aborted) {
        this.#capabilities = capabilities;
        return;
      }
      if (!isCoordError(error, 'NO_NODE', 'BAD_VERSION')) throw error;
      throw new CoordError('LOST', `${what}: its node was deleted or replaced by someone else`, { cause: error });
    }
  }

  readonly #onSessionState = (change: SessionStateChange): void => {
    if (change.state === 'closed') this.#stopRejoining();
    else if (change.state === 'connected' && change.session.id !== this.#current.session.id) void this.#serial(() => this.#rejoinNow());
  };

  /** Joins again on the driver's current session, unless already on it or it is dead too. */
  async #rejoinNow(): Promise<void> {
    const { driver, codec } = this.#context;
    while (this.#rejoin) {
      const session = driver.session;
      // A dead session: the driver's next fresh session calls us again.
      if (session.signal.aborted || session.id === this.#current.session.id) return;
      const joinId = attemptId();
      try {
        const payload = this.#capabilities === undefined ? EMPTY : codec.encode(this.#capabilities);
        const stale = { joinId: this.#current.joinId, token: this.#current.lease.token };
        const node = await createMember(this.#context, joinId, payload, session, stale);
        this.#current = this.#incarnation({ node, joinId, session });
        this.#report({ rejoined: true, token: node.token });
        return;
      } catch (error) {
        if (session.signal.aborted || !this.#rejoin) return;
        if (!isCoordError(error) || !error.retryable) {
          this.#stopRejoining();
          this.#report({ rejoined: false, error: toError(error) });
          return;
        }
        await sleep(REJOIN_RETRY_MS, this.#stopRejoin.signal).catch(() => undefined);
      }
    }
  }

  #incarnation(incarnation: Incarnation): Current {
    const lease = new NodeLease(this.#context.driver, incarnation.node, incarnation.session, this.#context.what);
    return { lease, joinId: incarnation.joinId, session: incarnation.session, version: 0 };
  }

  #stopRejoining(): void {
    this.#rejoin = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#stopRejoin.abort();
  }

  #report(outcome: RejoinOutcome): void {
    try {
      this.#onRejoin?.(outcome);
    } catch (error) {
      // A callback's bug must not break the membership: a warning, never an uncaught exception.
      reportListenerError(error, `${this.#context.what} onRejoin`);
    }
  }

  #serial<R>(task: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
