/**
 * Group membership, with OpenStack Tooz's semantics: named groups that are created and
 * deleted explicitly, members that join with capabilities, and watchers told of every join,
 * leave and update.
 *
 * Protocol: a group is a persistent marker node `/.coord/groups/<name>` made by `create()`
 * (`NODE_EXISTS` → `GROUP_EXISTS`); one reserved root, so `coord.groups()` is one listing of
 * it and never shows locks or elections. A member is an ephemeral node `<marker>/<memberId>`
 * created with `requireParent`, so the create and the check that the group exists are one
 * atomic request (`NO_NODE` → `GROUP_NOT_FOUND`; `NODE_EXISTS` → `MEMBER_EXISTS`) and a join
 * can never bring a deleted group back. `delete()` is one delete of the marker, which the
 * backend refuses while it has children (`NOT_EMPTY` → `GROUP_NOT_EMPTY`). A member node holds
 * a per-join id and the encoded capabilities; `update()` is one conditional `set`. Joining,
 * leaving, updating, creating and deleting are one request each.
 *
 * Watching (`watch()`): the watcher watches the marker, the member list, and each member
 * node, each watch armed by the read it belongs to; every firing re-reads what fired, and
 * the events are the differences between successive reads, so nothing that changed between
 * two reads is missed. A member seen with another join id left and joined again (`leave`
 * then `join`). A member that joined and left entirely between two reads of the watcher is
 * not reported (as with ZooKeeper watches in Tooz or Curator).
 *
 * Session loss: members are ephemeral, so a member whose session dies disappears and
 * watchers see it `leave`. Its membership's `signal` aborts first (see `NodeLease`). With
 * `rejoin: true` the membership re-creates its node on the coordinator's next session (see
 * {@link JoinOptions.rejoin}). A watcher whose own session ends re-reads everything on the
 * next session and reports what changed meanwhile.
 */
import {
  CoordError,
  EMPTY,
  checkCodec,
  checkOptionalBoolean,
  checkOptionalCallback,
  checkOptionsObject,
  checkSignalOptions,
  isCoordError,
  jsonCodec,
  type Codec,
  type Driver,
} from '@coord/core';
import { attemptId } from './internal/attempt.js';
import { GROUPS_ROOT, groupPath, markerId, memberPath, newMarker, readMember } from './internal/group-nodes.js';
import { GroupMembership, createMember, type JoinOptions, type Membership } from './internal/group-membership.js';
import { liveSession } from './internal/own-node.js';
import { watchGroup, type GroupEvent } from './internal/group-watch.js';

export type { JoinOptions, Membership, RejoinOutcome } from './internal/group-membership.js';
export type { GroupEvent } from './internal/group-watch.js';

/** Options of `coord.group(name, options)`. */
export interface GroupOptions<T> {
  /** How capabilities are stored (default: JSON; the JSON codec does not check their shape). */
  readonly codec?: Codec<T>;
}



/** Options of {@link Group.watch}. */
export interface GroupWatchOptions {
  /** Ends the iteration (normally, without an error) and drops every watch when it aborts. */
  readonly signal?: AbortSignal;
}

/** A group: what `coord.group(name)` returns. Creating one does no I/O. */
export interface Group<T = unknown> {
  /** The group's name. */
  readonly name: string;
  /**
   * Creates the group.
   * @throws CoordError `GROUP_EXISTS`; `CLOSED`.
   */
  create(): Promise<void>;
  /**
   * Deletes the group.
   * @throws CoordError `GROUP_NOT_FOUND`; `GROUP_NOT_EMPTY` while it has members; `CLOSED`.
   */
  delete(): Promise<void>;
  /**
   * Joins the group as `memberId` (one request). The member leaves when the membership is
   * left or disposed, or when this coordinator's session ends.
   * @example
   * ```ts
   * await using me = await coord.group('workers').join('worker-1', { capabilities: { slots: 4 } });
   * await me.update({ slots: 2 });
   * ```
   * @throws CoordError `GROUP_NOT_FOUND`; `MEMBER_EXISTS`; `INVALID_ARGUMENT` for a bad id or
   *   capabilities the codec cannot encode; `SESSION_EXPIRED`; `CLOSED`.
   */
  join(memberId: string, options?: JoinOptions<T>): Promise<Membership<T>>;
  /**
   * The members and their capabilities (one listing, then one read per member, in parallel).
   * @throws CoordError `GROUP_NOT_FOUND`; `CLOSED`.
   */
  members(): Promise<Map<string, T>>;
  /**
   * Watches the group: first a `join` for every member present at the first read, then every
   * `join`, `leave` and `update`, pushed by watches. Breaking out of the loop, or aborting
   * `signal`, ends it and drops every watch.
   * @example
   * ```ts
   * for await (const { type, member, capabilities } of group.watch({ signal })) console.log(type, member, capabilities);
   * ```
   * A member that joined and left entirely between two reads of the watch is not reported.
   * Transient failures after the first read are retried (the next read reports what changed
   * meanwhile); the watch also carries on across its own session's expiry.
   * @throws CoordError (from the iteration) `GROUP_NOT_FOUND` if the group does not exist or
   *   is deleted (after the events before it); `CLOSED` when the coordinator closes; the
   *   driver's error if the first read fails.
   */
  watch(options?: GroupWatchOptions): AsyncIterable<GroupEvent<T>>;
}

/** The group recipe (see the module comment for its protocol). */
export class GroupRecipe<T = unknown> implements Group<T> {
  readonly name: string;
  readonly #driver: Driver;
  readonly #codec: Codec<T>;
  /** The marker's path, which is also the members' directory. */
  readonly #path: string;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param name the group's name (one path segment)
   * @param options the capabilities' codec
   * @throws CoordError `INVALID_ARGUMENT` for a bad name or a codec without encode/decode.
   */
  constructor(driver: Driver, name: string, options?: GroupOptions<T>) {
    this.#path = groupPath(name);
    this.name = name;
    this.#driver = driver;
    this.#what = `group ${name}`;
    this.#codec = checkCodec(checkOptionsObject(options, this.#what).codec, jsonCodec as Codec<T>, this.#what);
  }

  async create(): Promise<void> {
    const marker = newMarker();
    try {
      await this.#driver.create(this.#path, marker);
    } catch (error) {
      if (!isCoordError(error, 'NODE_EXISTS')) throw error;
      // A driver's retry of this very create (its first reply lost) finds our own marker.
      if (markerId((await this.#driver.get(this.#path)).node?.data ?? EMPTY) === markerId(marker)) return;
      throw new CoordError('GROUP_EXISTS', `${this.#what}: already exists`, { cause: error });
    }
  }

  async delete(): Promise<void> {
    let deleted: boolean;
    try {
      deleted = await this.#driver.delete(this.#path);
    } catch (error) {
      if (isCoordError(error, 'NOT_EMPTY')) throw new CoordError('GROUP_NOT_EMPTY', `${this.#what}: still has members`, { cause: error });
      throw error;
    }
    if (!deleted) throw this.#notFound();
  }

  async join(memberId: string, options?: JoinOptions<T>): Promise<Membership<T>> {
    const path = memberPath(this.#path, memberId);
    options = checkJoinOptions(options, `${this.#what} join`);
    const capabilities = options.capabilities as T;
    const payload = options.capabilities === undefined ? EMPTY : this.#codec.encode(capabilities);
    const session = liveSession(this.#driver);
    const context = { driver: this.#driver, group: this.name, memberId, path, codec: this.#codec, what: `${this.#what} member ${memberId}` };
    const joinId = attemptId();
    const node = await createMember(context, joinId, payload, session, undefined);
    return new GroupMembership(context, { node, joinId, session }, capabilities, options);
  }

  async members(): Promise<Map<string, T>> {
    const [marker, listing] = await Promise.all([this.#driver.get(this.#path), this.#driver.children(this.#path)]);
    if (marker.node === undefined) throw this.#notFound();
    const records = await Promise.all(listing.nodes.map((node) => readMember(this.#driver, node.path, this.#codec)));
    const members = new Map<string, T>();
    listing.nodes.forEach((node, i) => {
      const record = records[i];
      if (record !== undefined) members.set(node.name, record.capabilities); // undefined: it left meanwhile
    });
    return members;
  }

  watch(options?: GroupWatchOptions): AsyncIterable<GroupEvent<T>> {
    const { signal } = checkSignalOptions(options, this.#what);
    return watchGroup({ driver: this.#driver, path: this.#path, codec: this.#codec, what: this.#what }, signal);
  }

  #notFound(): CoordError {
    return new CoordError('GROUP_NOT_FOUND', `${this.#what}: no such group`);
  }
}

/** {@link JoinOptions} checked before any request. @throws CoordError `INVALID_ARGUMENT`. */
function checkJoinOptions<T>(options: JoinOptions<T> | undefined, what: string): JoinOptions<T> {
  const object = checkOptionsObject(options, what);
  const rejoin = checkOptionalBoolean(object.rejoin, what, 'rejoin');
  const onRejoin = checkOptionalCallback(object.onRejoin, what, 'onRejoin');
  const base = object.capabilities === undefined ? {} : { capabilities: object.capabilities };
  return onRejoin === undefined ? { ...base, rejoin } : { ...base, rejoin, onRejoin };
}

/**
 * The names of every group (one listing of the groups' root), sorted.
 * @throws CoordError `CLOSED`.
 */
export async function listGroups(driver: Driver): Promise<string[]> {
  const { nodes } = await driver.children(GROUPS_ROOT);
  return nodes.map((node) => node.name).sort();
}
