/**
 * The etcd v3 driver: ZooKeeper's node model on etcd's flat key space (see `keys.ts` for the
 * key layout). This file is the node operations and the wiring of the driver's two other
 * rooms: the session keeper (`session.ts`, one lease per session) and the watch hub
 * (`watches.ts`, one watch stream). The driver depends on both, the keeper on the hub, and
 * the hub on the client only.
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
  checkNodeData,
  checkNodeToken,
  joinPath,
  repeatPolicyOf,
  parentPath,
  validateName,
  validatePath,
  type Capabilities,
  type ChildrenResult,
  type ConnectionConfig,
  type CreateOptions,
  type Driver,
  type GetResult,
  type ManagedSession,
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
import type { IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { Endpoints, Requests, type CallOptions } from './client.js';
import { KeyLayout, type KeyRange } from './keys.js';
import { SessionKeeper } from './session.js';
import { badVersion, parentFailure } from './checks.js';
import { compareRange, countOf, firstKv, keysOf, listing, nodeChecks, parentChecks, parentRange, rangeKvs, type Compare } from './txn.js';
import { CHILD_CHANGE, OwnDeletes, WatchHub, ownNodeCheck, type Accept } from './watches.js';

/** A driver over an etcd v3 cluster. Open it with {@link EtcdDriver.open}. */
export class EtcdDriver implements Driver {
  readonly name = 'etcd' as const;
  readonly capabilities: Capabilities = Object.freeze({ linearizable: true, tokensSurviveFailover: true });
  readonly #endpoints: Endpoints;
  readonly #config: ConnectionConfig;
  readonly #keys: KeyLayout;
  readonly #requests: Requests;
  readonly #hub: WatchHub<ManagedSession>;
  readonly #keeper: SessionKeeper;
  readonly #closer: AbortController;
  readonly #listeners = new ListenerSet<[SessionStateChange]>();
  readonly #label: string;
  /** This driver's deletes, which its node watches need not hold (see {@link ownNodeCheck}). */
  readonly #deletes: OwnDeletes;
  /** createSequential calls per directory, applied in call order (ZooKeeper's FIFO order). */
  readonly #sequencers = new Map<string, Promise<unknown>>();
  /** The newest revision any reply carried (see {@link EtcdDriver.#mine}). */
  #lastRevision = 0n;
  #closed = false;

  private constructor(endpoints: Endpoints, config: ConnectionConfig, requests: Requests, closer: AbortController) {
    this.#endpoints = endpoints;
    this.#config = config;
    this.#keys = new KeyLayout(config.namespace);
    this.#requests = requests;
    this.#closer = closer;
    this.#label = labelOf(config);
    this.#deletes = new OwnDeletes(this.#keys);
    this.#hub = new WatchHub<ManagedSession>(endpoints);
    const parts = { endpoints, requests, keys: this.#keys, hub: this.#hub, config, label: this.#label };
    this.#keeper = new SessionKeeper(parts, {
      onChange: (change) => this.#listeners.emit(change),
      onEnded: (session) => this.#hub.settleOwner(session, 'session'),
    });
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
      const driver = new EtcdDriver(endpoints, config, requests, closer);
      await driver.#keeper.start(Math.max(1, connectTimeout - (Date.now() - started)));
      return driver;
    } catch (error) {
      endpoints.close();
      throw error;
    }
  }

  get session(): Session {
    return this.#keeper.current;
  }

  async create(path: string, data: Uint8Array, options: CreateOptions = {}): Promise<NodeRef> {
    validatePath(path);
    if (path === '/') throw new CoordError('INVALID_ARGUMENT', `${this.#label}: cannot create the root`);
    checkNodeData(data, path, this.#label);
    this.#checkOpen();
    const session = options.ephemeral === true ? await this.#keeper.whenGranted() : undefined;
    const own = this.#keys.nodeRange(path);
    const parent = parentPath(path);
    const compare: Compare[] = [compareRange(own, 'Create', 'Equal', 0), ...parentChecks(this.#keys, parent, options)];
    const failure: IRequestOp[] = [keysOf(own), keysOf(parentRange(this.#keys, parent))];
    if (session !== undefined) {
      // An ephemeral node cannot have children (it would vanish under them), as on ZooKeeper.
      compare.push(compareRange(this.#keys.childrenRange(path), 'Create', 'Equal', 0));
      compare.push(compareRange(this.#keys.deeperRange(path), 'Create', 'Equal', 0));
      failure.push(countOf(this.#keys.childrenRange(path)), countOf(this.#keys.deeperRange(path)));
    }
    const put = { key: this.#keys.plainKey(path), value: Buffer.from(data), ...(session ? { lease: session.id } : {}) };
    const sentAfter = this.#lastRevision;
    let repeated = false;
    const response = await this.#txn(`create ${path}`, 'always', session, (o, n) => {
      repeated = n > 0;
      return { compare, success: [{ request_put: put }], failure };
    });
    const owner = session === undefined ? {} : { owner: session.id };
    if (response.succeeded) {
      return Object.freeze({ path, name: baseName(path), seq: 0n, token: BigInt(response.header.revision), ...owner });
    }
    const [existing, parentKv] = [firstKv(response, 0), firstKv(response, 1)];
    if (existing !== undefined) {
      // A repeat after a lost reply finds the node its first send made: adopt it.
      if (repeated && existing.key.at(-1) !== 0 && this.#mine(existing, session, sentAfter)) {
        return Object.freeze({ path, name: baseName(path), seq: 0n, token: BigInt(existing.create_revision), ...owner });
      }
      throw new CoordError('NODE_EXISTS', `${this.#label}: ${path} exists`);
    }
    parentFailure(this.#label, parent, parentKv, options);
    throw new CoordError('INVALID_ARGUMENT', `${this.#label}: ${path} has children, so it cannot be ephemeral`);
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array, options: CreateOptions = {}): Promise<SequentialCreated> {
    validatePath(dir, 'directory');
    if (prefix !== '') validateName(prefix, 'prefix');
    checkNodeData(data, joinPath(dir, `${prefix}…`), this.#label);
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
    const session = options.ephemeral === true ? await this.#keeper.whenGranted() : undefined;
    // A random suffix makes the name unique, so a repeat after a lost reply knows its node.
    for (let collisions = 0; ; collisions += 1) {
      const path = validatePath(joinPath(dir, `${prefix}${randomBytes(8).toString('hex')}`));
      const created = await this.#createSequentialOnce(dir, path, data, session, options);
      if (created !== undefined) return created;
      if (collisions >= 3) throw new CoordError('INTERNAL', `${this.#label}: cannot find a free sequential name in ${dir}`);
    }
  }

  async #createSequentialOnce(
    dir: string,
    path: string,
    data: Uint8Array,
    session: ManagedSession | undefined,
    options: CreateOptions,
  ): Promise<SequentialCreated | undefined> {
    const own = this.#keys.nodeRange(path);
    const siblings = keysOf(this.#keys.childrenRange(dir));
    const compare = [compareRange(own, 'Create', 'Equal', 0), ...parentChecks(this.#keys, dir, options)];
    const put = { key: this.#keys.sequentialKey(path), value: Buffer.from(data), ...(session ? { lease: session.id } : {}) };
    let repeated = false;
    const response = await this.#txn(`create in ${dir}`, 'always', session, (o, n) => {
      repeated = n > 0;
      return { compare, success: [{ request_put: put }, siblings], failure: [keysOf(own), siblings, keysOf(parentRange(this.#keys, dir))] };
    });
    const owner = session === undefined ? {} : { owner: session.id };
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
    parentFailure(this.#label, dir, firstKv(response, 2), options);
    throw new CoordError('INTERNAL', `${this.#label}: create in ${dir} failed for no reason etcd reported`);
  }

  async get(path: string, options: ReadOptions = {}): Promise<GetResult> {
    validatePath(path);
    this.#checkOpen();
    this.#checkSignal(options.signal, `get ${path}`);
    const session = this.#keeper.current;
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
    const changed = this.#watch(own, response.header.revision, ownNodeCheck(session, this.#deletes, (s) => this.#keeper.confirm(s)), session, options.signal, true);
    return node === undefined ? { changed } : { node, changed };
  }

  async children(dir: string, options: ReadOptions = {}): Promise<ChildrenResult> {
    validatePath(dir, 'directory');
    this.#checkOpen();
    this.#checkSignal(options.signal, `children of ${dir}`);
    const session = this.#keeper.current;
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
    checkNodeData(data, path, this.#label);
    checkNodeToken(options.token, path, this.#label);
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
        compare: [...nodeChecks(own, options), { key, target: 'Create', result: 'Greater', create_revision: '0' }],
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
    checkNodeToken(options.token, path, this.#label);
    this.#checkOpen();
    if (path === '/') return false;
    const own = this.#keys.nodeRange(path);
    const children = this.#keys.childrenRange(path);
    const deeper = this.#keys.deeperRange(path);
    const repeat = repeatPolicyOf(options);
    this.#deletes.begin(path);
    let response: ITxnResponse;
    try {
      response = await this.#txn(`delete ${path}`, repeat, undefined, () => ({
        compare: [
          ...nodeChecks(own, options),
          compareRange(children, 'Create', 'Equal', 0),
          compareRange(deeper, 'Create', 'Equal', 0),
        ],
        success: [{ request_delete_range: { key: own.start, range_end: own.end } }],
        failure: [keysOf(own)],
      }));
    } finally {
      this.#deletes.end(path);
    }
    if (response.succeeded) {
      this.#deletes.succeeded(response.header.revision);
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
    // The keeper closes the session and stops renewing before it returns; its promise is the
    // revocation of the lease (which removes the session's ephemeral nodes for everyone at
    // once), awaited once the hub has settled every watch.
    const revoked = this.#keeper.close();
    this.#hub.close();
    await revoked;
    this.#endpoints.close();
  }

  toJSON(): { name: string; url: string; member: string; session: string } {
    return { name: this.name, url: this.#config.redacted, member: this.#endpoints.member, session: this.#keeper.current.id };
  }

  // ---- requests -------------------------------------------------------------------------

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
    session: ManagedSession | undefined,
    build: (o: CallOptions, n: number) => { compare: Compare[]; success: IRequestOp[]; failure: IRequestOp[] },
  ): Promise<ITxnResponse> {
    try {
      const response = await this.#requests.run(what, (client, o, n) => client.kv.txn(build(o, n), o), repeat);
      this.#seen(response.header.revision);
      return response;
    } catch (error) {
      if (session !== undefined && error instanceof CoordError && error.code === 'SESSION_EXPIRED') this.#keeper.leaseGone(session);
      throw error;
    }
  }

  #watch(range: KeyRange, revision: string, accept: Accept, session: ManagedSession, signal?: AbortSignal, prevKv = false): Promise<WatchEvent> {
    if (session.ended) return Promise.resolve('session');
    return this.#hub.arm(range, (BigInt(revision) + 1n).toString(), accept, session, signal, prevKv);
  }

  /** Whether a node found on a repeat is the one our first send made. */
  #mine(kv: IKeyValue, session: ManagedSession | undefined, sentAfter: bigint): boolean {
    if (session !== undefined) return kv.lease === session.id;
    return kv.lease === '0' && kv.version === '1' && BigInt(kv.create_revision) > sentAfter;
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
