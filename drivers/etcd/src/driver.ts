/**
 * The etcd v3 driver: ZooKeeper's node model on etcd's flat key space (see `keys.ts` for the
 * key layout), one lease per session (`session.ts`), one watch stream (`watches.ts`).
 *
 * Every write is ONE Txn whose compares carry all its conditions — existence, parent,
 * version, creation token, emptiness — so each is atomic and costs one round trip; the
 * failure branch reads back just enough to say which condition failed. `createSequential`
 * is a put-if-absent of a uniquely named key plus the range of its siblings, like etcd's own
 * `concurrency.Mutex`; its order and token are the key's create revision, global and strictly
 * increasing, so tokens survive a directory emptying and a leader change alike.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  CoordError,
  abortReason,
  baseName,
  joinPath,
  linkSignals,
  repeatPolicyOf,
  parentPath,
  sleep,
  validateName,
  validatePath,
  type Capabilities,
  type ChildrenResult,
  type ConnectionConfig,
  type CreateOptions,
  type Driver,
  type GetResult,
  type ManagedSession as CoreSession,
  type NodeRef,
  type ReadOptions,
  type RepeatPolicy,
  type SequentialCreated,
  type Session,
  type SessionStateChange,
  type VersionOptions,
  type WatchEvent,
  ListenerSet,
} from '@coord/core';
import type { IEvent, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { Endpoints, Requests, type CallOptions } from './client.js';
import { KeyCodec, type KeyRange } from './keys.js';
import { LeaseKeeper } from './session.js';
import { badVersion, checkData, checkToken } from './checks.js';
import { openLease, randomLeaseId, revoke, ttlSecondsOf } from './lease.js';
import { compareRange, countOf, firstKv, keysOf, listing, rangeKvs, type Compare } from './txn.js';
import { WatchHub, type Accept } from './watches.js';

/** How many of its own recent delete revisions the driver remembers (see #ownNodeCheck). */
const RECENT_DELETES = 1024;

/** A child watch counts creates and deletes of children, not data changes of children. */
const CHILD_CHANGE = (event: IEvent): boolean => event.type === 'Delete' || event.kv.version === '1';

/** A driver over an etcd v3 cluster. Open it with {@link EtcdDriver.open}. */
export class EtcdDriver implements Driver {
  readonly name = 'etcd' as const;
  readonly capabilities: Capabilities = Object.freeze({ linearizable: true, tokensSurviveFailover: true });
  readonly #endpoints: Endpoints;
  readonly #config: ConnectionConfig;
  readonly #keys: KeyCodec;
  readonly #requests: Requests;
  readonly #watches: WatchHub<CoreSession>;
  readonly #closer: AbortController;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #label: string;
  #keeper: LeaseKeeper;
  /** The grant of the current session's lease, while in flight (close waits for it, to revoke it). */
  #granting: Promise<void> | undefined;
  /** Requests that close does not cancel: lease grants, whose lease close must revoke. */
  readonly #grants: Requests;
  /** createSequential calls per directory, applied in call order (ZooKeeper's FIFO order). */
  readonly #sequencers = new Map<string, Promise<unknown>>();
  #closed = false;

  private constructor(endpoints: Endpoints, config: ConnectionConfig, requests: Requests, closer: AbortController, keeper: (driver: EtcdDriver) => LeaseKeeper) {
    this.#endpoints = endpoints;
    this.#config = config;
    this.#keys = new KeyCodec(config.namespace);
    this.#requests = requests;
    this.#grants = new Requests(endpoints, labelOf(config), config.settings.operationTimeout, new AbortController().signal);
    this.#closer = closer;
    this.#label = labelOf(config);
    this.#watches = new WatchHub<CoreSession>(endpoints);
    this.#keeper = keeper(this);
  }

  /**
   * Connects and opens the first session (a lease) within `connectTimeout`.
   * @throws CoordError `UNAVAILABLE` / `TIMEOUT` if no member answers in time, `AUTH_FAILED`
   *   if the credentials are refused.
   */
  static async open(config: ConnectionConfig): Promise<EtcdDriver> {
    const endpoints = new Endpoints(config);
    const closer = new AbortController();
    // Every request in flight listens on it (to reject with CLOSED): many at once is normal.
    setMaxListeners(0, closer.signal);
    const requests = new Requests(endpoints, labelOf(config), config.settings.operationTimeout, closer.signal);
    try {
      const started = Date.now();
      const { connectTimeout } = config.settings;
      await endpoints.preferLeader(new Date(started + connectTimeout / 4));
      const left = Math.max(1, connectTimeout - (Date.now() - started));
      const keys = new KeyCodec(config.namespace);
      const grant = await openLease(requests, keys, ttlSecondsOf(config), left);
      return new EtcdDriver(endpoints, config, requests, closer, (driver) => driver.#keep(grant.id, grant.sentAt));
    } catch (error) {
      endpoints.close();
      throw error;
    }
  }

  get session(): Session {
    return this.#keeper.session;
  }

  async create(path: string, data: Uint8Array, options: CreateOptions = {}): Promise<NodeRef> {
    validatePath(path);
    if (path === '/') throw new CoordError('INVALID_ARGUMENT', `${this.#label}: cannot create the root`);
    checkData(data, path, this.#label);
    this.#checkOpen();
    const keeper = options.ephemeral === true ? await this.#liveKeeper() : undefined;
    const own = this.#keys.nodeRange(path);
    const parent = parentPath(path);
    const compare: Compare[] = [compareRange(own, 'Create', 'Equal', 0), ...this.#parentChecks(parent, options)];
    const failure: IRequestOp[] = [keysOf(own), keysOf(this.#parentRange(parent))];
    if (keeper !== undefined) {
      // An ephemeral node cannot have children (it would vanish under them), as on ZooKeeper.
      compare.push(compareRange(this.#keys.childrenRange(path), 'Create', 'Equal', 0));
      compare.push(compareRange(this.#keys.deeperRange(path), 'Create', 'Equal', 0));
      failure.push(countOf(this.#keys.childrenRange(path)), countOf(this.#keys.deeperRange(path)));
    }
    const put = { key: this.#keys.plainKey(path), value: Buffer.from(data), ...(keeper ? { lease: keeper.leaseId } : {}) };
    const sentAfter = this.#lastRevision;
    let repeated = false;
    const response = await this.#txn(`create ${path}`, 'always', keeper, (o, n) => {
      repeated = n > 0;
      return { compare, success: [{ request_put: put }], failure };
    });
    const owner = keeper === undefined ? {} : { owner: keeper.leaseId };
    if (response.succeeded) {
      return Object.freeze({ path, name: baseName(path), seq: 0n, token: BigInt(response.header.revision), ...owner });
    }
    const [existing, parentKv] = [firstKv(response, 0), firstKv(response, 1)];
    if (existing !== undefined) {
      // A repeat after a lost reply finds the node its first send made: adopt it.
      if (repeated && existing.key.at(-1) !== 0 && this.#mine(existing, keeper, sentAfter)) {
        return Object.freeze({ path, name: baseName(path), seq: 0n, token: BigInt(existing.create_revision), ...owner });
      }
      throw new CoordError('NODE_EXISTS', `${this.#label}: ${path} exists`);
    }
    this.#parentFailure(parent, parentKv, options);
    throw new CoordError('INVALID_ARGUMENT', `${this.#label}: ${path} has children, so it cannot be ephemeral`);
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions = {}): Promise<SequentialCreated> {
    validatePath(dir, 'directory');
    if (prefix !== '') validateName(prefix, 'prefix');
    checkData(data, joinPath(dir, `${prefix}…`), this.#label);
    this.#checkOpen();
    // etcd serves concurrent requests of one client in any order; queue the creates of one
    // directory so they get their sequence in call order, as on ZooKeeper.
    const previous = this.#sequencers.get(dir);
    const created = (previous === undefined ? this.#createSequential(dir, prefix, data, options) : previous.then(() => this.#createSequential(dir, prefix, data, options)));
    const tail = created.then(
      () => undefined,
      () => undefined,
    );
    this.#sequencers.set(dir, tail);
    void tail.then(() => {
      if (this.#sequencers.get(dir) === tail) this.#sequencers.delete(dir);
    });
    return created;
  }

  async #createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions): Promise<SequentialCreated> {
    this.#checkOpen();
    const keeper = options.ephemeral === true ? await this.#liveKeeper() : undefined;
    // A random suffix makes the name unique, so a repeat after a lost reply knows its node.
    for (let collisions = 0; ; collisions += 1) {
      const path = validatePath(joinPath(dir, `${prefix}${randomBytes(8).toString('hex')}`));
      const created = await this.#createSequentialOnce(dir, path, data, keeper, options);
      if (created !== undefined) return created;
      if (collisions >= 3) throw new CoordError('INTERNAL', `${this.#label}: cannot find a free sequential name in ${dir}`);
    }
  }

  async #createSequentialOnce(
    dir: string,
    path: string,
    data: Uint8Array,
    keeper: LeaseKeeper | undefined,
    options: CreateOptions,
  ): Promise<SequentialCreated | undefined> {
    const own = this.#keys.nodeRange(path);
    const siblings = keysOf(this.#keys.childrenRange(dir));
    const compare = [compareRange(own, 'Create', 'Equal', 0), ...this.#parentChecks(dir, options)];
    const put = { key: this.#keys.sequentialKey(path), value: Buffer.from(data), ...(keeper ? { lease: keeper.leaseId } : {}) };
    let repeated = false;
    const response = await this.#txn(`create in ${dir}`, 'always', keeper, (o, n) => {
      repeated = n > 0;
      return { compare, success: [{ request_put: put }, siblings], failure: [keysOf(own), siblings, keysOf(this.#parentRange(dir))] };
    });
    const owner = keeper === undefined ? {} : { owner: keeper.leaseId };
    const make = (revision: string, kvs: readonly IKeyValue[]): SequentialCreated => {
      const seq = BigInt(revision);
      const node: NodeRef = Object.freeze({ path, name: baseName(path), seq, token: seq, ...owner });
      return { node, siblings: listing(this.#keys, kvs) };
    };
    if (response.succeeded) return make(response.header.revision, rangeKvs(response, 1));
    const existing = firstKv(response, 0);
    if (existing !== undefined) {
      // Our random name exists: made by our own earlier send whose reply was lost (adopt
      // it), or — never in practice — by someone else (pick another name).
      return repeated ? make(existing.create_revision, rangeKvs(response, 1)) : undefined;
    }
    this.#parentFailure(dir, firstKv(response, 2), options);
    throw new CoordError('INTERNAL', `${this.#label}: create in ${dir} failed for no reason etcd reported`);
  }

  async get(path: string, options: ReadOptions = {}): Promise<GetResult> {
    validatePath(path);
    this.#checkOpen();
    this.#checkSignal(options.signal, `get ${path}`);
    const session = this.#keeper.session;
    const own = this.#keys.nodeRange(path);
    const response = await this.#requests.run(
      `get ${path}`,
      (client, o) => client.kv.range({ key: own.start, range_end: own.end }, o),
      'always',
      options.signal,
    );
    this.#seen(response.header.revision);
    const kv = path === '/' ? undefined : response.kvs[0];
    const node =
      kv === undefined
        ? undefined
        : Object.freeze({
            path,
            data: new Uint8Array(kv.value),
            version: Number(kv.version) - 1,
            ...(kv.lease !== '0' ? { owner: kv.lease } : {}),
          });
    if (options.watch !== true) return node === undefined ? {} : { node };
    const changed = this.#watch(own, response.header.revision, this.#ownNodeCheck(session), session, options.signal, true);
    return node === undefined ? { changed } : { node, changed };
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    this.#checkOpen();
    this.#checkSignal(options.signal, `children of ${dir}`);
    const session = this.#keeper.session;
    const range = this.#keys.childrenRange(dir);
    const response = await this.#requests.run(
      `children of ${dir}`,
      (client, o) => client.kv.range({ key: range.start, range_end: range.end, keys_only: true }, o),
      'always',
      options.signal,
    );
    this.#seen(response.header.revision);
    const nodes = listing(this.#keys, response.kvs);
    if (options.watch !== true) return { nodes };
    return { nodes, changed: this.#watch(range, response.header.revision, CHILD_CHANGE, session, options.signal) };
  }

  async set(path: string, data: Uint8Array, options: VersionOptions = {}): Promise<number> {
    validatePath(path);
    checkData(data, path, this.#label);
    checkToken(options.token, path, this.#label);
    this.#checkOpen();
    if (path === '/') throw new CoordError('NO_NODE', `${this.#label}: ${path} does not exist`);
    const own = this.#keys.nodeRange(path);
    const value = Buffer.from(data);
    const repeat = repeatPolicyOf(options);
    // The put must name the exact key. Plain nodes are the ones that get set (sequential ones
    // are queue entries), so try the plain key; the failure branch says if the node is a
    // sequential one, which takes a second Txn. (One Txn with a nested Txn per variant would
    // carry the value twice, and a 1 MB value would exceed etcd's request limit.)
    let response: ITxnResponse | undefined;
    for (const key of [this.#keys.plainKey(path), this.#keys.sequentialKey(path)]) {
      response = await this.#txn(`set ${path}`, repeat, undefined, () => ({
        compare: [...this.#nodeChecks(own, options), { key, target: 'Create', result: 'Greater', create_revision: '0' }],
        success: [{ request_put: { key, value, ignore_lease: true } }, keysOf(own)],
        failure: [keysOf(own)],
      }));
      if (response.succeeded) {
        const after = firstKv(response, 1);
        return after === undefined ? (options.version ?? 0) + 1 : Number(after.version) - 1;
      }
      if (firstKv(response, 0)?.key.at(-1) !== 0) break; // not a sequential node: no second try
    }
    const existing = response === undefined ? undefined : firstKv(response, 0);
    if (existing === undefined) throw new CoordError('NO_NODE', `${this.#label}: ${path} does not exist`);
    if (options.token !== undefined && BigInt(existing.create_revision) !== options.token) {
      throw new CoordError('NO_NODE', `${this.#label}: ${path} is not the node of token ${options.token} (it was re-created)`);
    }
    throw badVersion(this.#label, path, existing, options.version);
  }

  async delete(path: string, options: VersionOptions = {}): Promise<boolean> {
    validatePath(path);
    checkToken(options.token, path, this.#label);
    this.#checkOpen();
    if (path === '/') return false;
    const own = this.#keys.nodeRange(path);
    const children = this.#keys.childrenRange(path);
    const deeper = this.#keys.deeperRange(path);
    const repeat = repeatPolicyOf(options);
    this.#deleting.set(path, (this.#deleting.get(path) ?? 0) + 1);
    let response: ITxnResponse;
    try {
      response = await this.#txn(`delete ${path}`, repeat, undefined, () => ({
        compare: [
          ...this.#nodeChecks(own, options),
          compareRange(children, 'Create', 'Equal', 0),
          compareRange(deeper, 'Create', 'Equal', 0),
        ],
        success: [{ request_delete_range: { key: own.start, range_end: own.end } }],
        failure: [keysOf(own)],
      }));
    } finally {
      const left = (this.#deleting.get(path) ?? 1) - 1;
      if (left > 0) this.#deleting.set(path, left);
      else this.#deleting.delete(path);
    }
    if (response.succeeded) {
      this.#deletedAt.add(response.header.revision);
      if (this.#deletedAt.size > RECENT_DELETES) this.#deletedAt.delete(this.#deletedAt.values().next().value as string);
      return true;
    }
    const existing = firstKv(response, 0);
    if (existing === undefined) return false;
    if (options.token !== undefined && BigInt(existing.create_revision) !== options.token) return false;
    if (options.version !== undefined && Number(existing.version) - 1 !== options.version) {
      throw badVersion(this.#label, path, existing, options.version);
    }
    throw new CoordError('NOT_EMPTY', `${this.#label}: ${path} has children`);
  }

  onSessionState(listener: (change: SessionStateChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closer.abort(new CoordError('CLOSED', `${this.#label}: driver is closed`));
    const keeper = this.#keeper;
    keeper.session.close();
    keeper.stop();
    this.#watches.close();
    // Revoking the lease removes the session's ephemeral nodes at once for everyone else. A
    // grant in flight is waited for first, so its lease cannot outlive the driver.
    await this.#granting?.catch(() => undefined);
    await revoke(this.#endpoints, keeper.leaseId, this.#config).catch(() => undefined);
    this.#endpoints.close();
  }

  toJSON(): { name: string; url: string; member: string; session: string } {
    return { name: this.name, url: this.#config.redacted, member: this.#endpoints.member, session: this.#keeper.session.id };
  }

  // ---- sessions -------------------------------------------------------------------------

  /** A keeper for lease `id`: granted at `sentAt`, or pending (granted later by {@link #reopen}). */
  #keep(id: string, sentAt?: number): LeaseKeeper {
    const keeper = new LeaseKeeper(
      this.#endpoints,
      id,
      ttlSecondsOf(this.#config),
      { onChange: (change) => this.#listeners.emit(change), onLost: (session, why) => this.#sessionLost(session, why) },
      sentAt,
    );
    if (sentAt !== undefined) this.#watchSessionKey(keeper.session);
    return keeper;
  }

  /**
   * Watches the session key: etcd deletes it only with the lease, so its deletion is etcd's
   * word that the session is over — seen in the same notification as the deletion of the
   * session's nodes, before anyone else could act on those (a keep-alive would tell up to a
   * third of the TTL later). The watch starts "from now": etcd delivers events of such a
   * watch at once, while a watch from an older revision waits for etcd's catch-up loop (up to
   * 100 ms), too late to abort the holder before the next one is granted. A revocation in
   * the moment between the put and the watch is still seen by the next keep-alive. A watch
   * that ends otherwise (compaction) is armed again after a read.
   */
  #watchSessionKey(session: CoreSession): void {
    const range = this.#keys.sessionKey(session.id);
    const gone = (event: IEvent): boolean => {
      if (event.type !== 'Delete') return false;
      this.#sessionLost(session, 'server');
      return true;
    };
    void this.#watches.arm(range, '0', gone, session).then(async (event) => {
      if (event !== 'changed' || session.ended) return;
      try {
        const response = await this.#requests.run('read the session key', (client, o) => client.kv.range({ key: range.start }, o), 'always');
        if (response.kvs.length === 0) this.#sessionLost(session, 'server');
        else this.#watchSessionKey(session);
      } catch {
        // Unreachable: the keep-alives and the local deadline decide.
      }
    });
  }

  /**
   * The current session's keeper, once etcd has granted its lease (a session opened after
   * an expiry exists at once, but its lease is granted in the background).
   * @throws CoordError `SESSION_EXPIRED` if that session ended meanwhile; `TIMEOUT`.
   */
  async #liveKeeper(): Promise<LeaseKeeper> {
    const keeper = this.#keeper;
    if (keeper.session.ended) throw abortReason(keeper.session.signal, `${this.#label}: session`);
    if (keeper.isGranted) return keeper;
    await this.#requests.run('wait for the session', () => keeper.ready, 'always');
    return keeper;
  }

  #sessionLost(session: CoreSession, why: 'server' | 'deadline'): void {
    const keeper = this.#keeper;
    if (keeper.session !== session || session.ended) return;
    session.expire(why === 'server' ? 'expired on etcd (its lease is gone)' : 'passed its local deadline without a renewal');
    keeper.stop();
    this.#watches.settleOwner(session, 'session');
    // Given up locally while etcd may still hold it: revoke it, in case etcd can hear us (if
    // it cannot, the lease expires there on its own).
    if (why === 'deadline') void revoke(this.#endpoints, keeper.leaseId, this.#config).catch(() => undefined);
    if (!this.#closed) this.#reopen();
  }

  /**
   * Opens the next session: at once, under a lease id of our choosing, in state `suspended`
   * (listeners hear of it, expired → connected, once granted); its lease is granted in the
   * background, retried until etcd grants it, the session's
   * local deadline passes first (then the next one takes over), or the driver closes. A
   * grant in flight is not cancelled by close (etcd may grant it anyway): close waits for it
   * and revokes the lease.
   */
  #reopen(): void {
    const keeper = this.#keep(randomLeaseId());
    this.#keeper = keeper;
    const session = keeper.session;
    const granting = (async (): Promise<void> => {
      while (!this.#closed && !session.ended) {
        try {
          const grant = await openLease(this.#grants, this.#keys, ttlSecondsOf(this.#config), this.#config.settings.operationTimeout, session.id);
          if (this.#closed || session.ended) {
            await revoke(this.#endpoints, session.id, this.#config).catch(() => undefined);
            return;
          }
          keeper.granted(grant.sentAt);
          this.#watchSessionKey(session);
          // Announced as the memory driver does: the switch from the expired session.
          this.#listeners.emit({ session, previous: 'expired', state: 'connected' });
          return;
        } catch {
          using stop = linkSignals(this.#closer.signal, session.signal);
          await sleep(250, stop.signal).catch(() => undefined);
        }
      }
    })();
    this.#granting = granting;
    void granting.finally(() => {
      if (this.#granting === granting) this.#granting = undefined;
    });
  }


  // ---- requests -------------------------------------------------------------------------

  #lastRevision = 0n;

  #seen(revision: string): void {
    const value = BigInt(revision);
    if (value > this.#lastRevision) this.#lastRevision = value;
  }

  /**
   * Sends a Txn. A write with the session's lease that etcd refuses because the lease is
   * gone ends the session on etcd's word.
   */
  async #txn(
    what: string,
    repeat: RepeatPolicy,
    keeper: LeaseKeeper | undefined,
    build: (o: CallOptions, n: number) => { compare: Compare[]; success: IRequestOp[]; failure: IRequestOp[] },
  ): Promise<ITxnResponse> {
    try {
      const response = await this.#requests.run(what, (client, o, n) => client.kv.txn(build(o, n), o), repeat);
      this.#seen(response.header.revision);
      return response;
    } catch (error) {
      if (keeper !== undefined && error instanceof CoordError && error.code === 'SESSION_EXPIRED') {
        this.#sessionLost(keeper.session, 'server');
      }
      throw error;
    }
  }

  #watch(range: KeyRange, revision: string, accept: Accept, session: CoreSession, signal?: AbortSignal, prevKv = false): Promise<WatchEvent> {
    if (session.ended) return Promise.resolve('session');
    return this.#watches.arm(range, (BigInt(revision) + 1n).toString(), accept, session, signal, prevKv);
  }

  /**
   * A node watch fires on any change, except that the deletion of a node of this very
   * session is held until the session is known to live: when etcd revokes the lease, the
   * session must end (SESSION_EXPIRED) before its holder can read its node as gone (LOST).
   * The session key's own deletion usually arrives a moment later in the same notification.
   */
  #ownNodeCheck(session: CoreSession): Accept {
    return (event) => {
      if (event.type !== 'Delete' || session.ended || event.prev_kv?.lease !== session.id) return true;
      // Our own delete (in flight, or answered at this revision) needs no check: the common
      // case of a release watched by another waiter of the same session.
      if (this.#deletedAt.has(event.kv.mod_revision)) return true;
      const path = this.#keys.decode(event.kv.key)?.path;
      if (path !== undefined && this.#deleting.has(path)) return true;
      return this.#confirmSession(session);
    };
  }

  /** Paths this driver is deleting now (how many deletes of each are in flight). */
  readonly #deleting = new Map<string, number>();
  /** Revisions of this driver's recent successful deletes, oldest first. */
  readonly #deletedAt = new Set<string>();

  /** Resolves once the session has ended, or a read found its session key still there. */
  #confirmSession(session: CoreSession): Promise<unknown> {
    const key = this.#keys.sessionKey(session.id).start;
    const read = this.#requests
      .run('read the session key', (client, o) => client.kv.range({ key, count_only: true }, o), 'always', session.signal)
      .then((response) => {
        if (response.count === '0') this.#sessionLost(session, 'server');
      });
    let onEnd = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      onEnd = resolve;
      session.signal.addEventListener('abort', onEnd, { once: true });
    });
    return Promise.race([read.catch(() => undefined), ended]).finally(() => session.signal.removeEventListener('abort', onEnd));
  }

  /** Whether a node found on a repeat is the one our first send made. */
  #mine(kv: IKeyValue, keeper: LeaseKeeper | undefined, sentAfter: bigint): boolean {
    if (keeper !== undefined) return kv.lease === keeper.leaseId;
    return kv.lease === '0' && kv.version === '1' && BigInt(kv.create_revision) > sentAfter;
  }

  /**
   * The parent's own range, read back when a create fails. The root is no node: its stand-in
   * is a range no node can be in (names have no control characters), keeping the failure
   * branch's shape the same for every path.
   */
  #parentRange(parent: string): KeyRange {
    return this.#keys.nodeRange(parent === '/' ? '/\u0000' : parent);
  }

  /** The parent must exist (`requireParent`) and must not be ephemeral. The root always qualifies. */
  #parentChecks(parent: string, options: CreateOptions): Compare[] {
    if (parent === '/') return [];
    const range = this.#keys.nodeRange(parent);
    const checks = [compareRange(range, 'Lease', 'Equal', 0)];
    if (options.requireParent === true) checks.push(compareRange(range, 'Create', 'Greater', 0));
    return checks;
  }

  /** Throws the parent-related reason a create failed, if it was that. */
  #parentFailure(parent: string, parentKv: IKeyValue | undefined, options: CreateOptions): void {
    if (parent === '/') return;
    if (parentKv === undefined && options.requireParent === true) {
      throw new CoordError('NO_NODE', `${this.#label}: parent ${parent} does not exist`);
    }
    if (parentKv !== undefined && parentKv.lease !== '0') {
      throw new CoordError('INVALID_ARGUMENT', `${this.#label}: ${parent} is ephemeral and cannot have children`);
    }
  }

  /** The node exists and, if asked, is the one of `token` and at `version`. */
  #nodeChecks(own: KeyRange, options: VersionOptions): Compare[] {
    const checks = [compareRange(own, 'Create', 'Greater', 0)];
    if (options.token !== undefined) checks.push(compareRange(own, 'Create', 'Equal', options.token));
    if (options.version !== undefined) checks.push(compareRange(own, 'Version', 'Equal', options.version + 1));
    return checks;
  }

  #checkOpen(): void {
    if (this.#closed) throw new CoordError('CLOSED', `${this.#label}: driver is closed`);
  }

  #checkSignal(signal: AbortSignal | undefined, what: string): void {
    if (signal?.aborted === true) throw abortReason(signal, `${this.#label}: ${what}`);
  }
}

/** How messages name the cluster: its hosts, never the credentials. */
function labelOf(config: ConnectionConfig): string {
  return `etcd ${config.hosts.map(({ host, port }) => `${host}:${port}`).join(',')}`;
}
