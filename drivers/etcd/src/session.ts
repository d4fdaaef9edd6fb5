/**
 * The etcd driver's session life cycle (docs/design.md D6; core's `session-keeper.ts` names
 * the shape every driver's keeper has). A session is one lease (`lease.ts` grants it, keeps it
 * alive and revokes it); the {@link SessionKeeper} opens the first one, ends a session on
 * etcd's word or at its local deadline (`#lost`), opens the next one in the background, and
 * revokes the current one on close.
 *
 * **Expiry is terminal.** The next session exists at once, under a lease id the client picks,
 * in state `suspended`; its lease is granted in the background and listeners hear
 * `expired → connected` once etcd has granted it. Calls that need it wait for the grant.
 *
 * **A revoked lease is seen at once.** Each session puts a session key on its lease and
 * watches it: etcd deletes it in the same revision as the session's nodes, so the keeper
 * learns of a revocation in the same notification as everyone else, not at the next
 * keep-alive.
 */
import { abortReason, linkSignals, retryUntilOpen, type Backoff, type ConnectionConfig, type ManagedSession, type SessionEvents } from '@coord/core';
import type { IEvent } from 'etcd3';
import { Requests, type Endpoints } from './client.js';
import type { KeyLayout } from './keys.js';
import { LeaseKeeper, openLease, randomLeaseId, revoke, ttlSecondsOf } from './lease.js';
import type { WatchHub } from './watches.js';

/** A failed grant of the next session's lease is tried again after a fixed pause. */
const REGRANT: Backoff = { firstMs: 250, maxMs: 250 };

/** What a {@link SessionKeeper} works with: the driver's client, key layout and watch hub. */
export interface KeeperParts {
  readonly endpoints: Endpoints;
  /** The driver's requests (its close cancels them). */
  readonly requests: Requests;
  readonly keys: KeyLayout;
  /** Where the session key's watch runs (the keeper arms it; the hub never calls back). */
  readonly hub: WatchHub<ManagedSession>;
  readonly config: ConnectionConfig;
  /** How messages name the cluster. */
  readonly label: string;
}

/** Opens, renews and replaces the etcd driver's sessions (one lease each). */
export class SessionKeeper {
  readonly #parts: KeeperParts;
  readonly #events: SessionEvents;
  /** Requests that close does not cancel: lease grants, whose lease close must revoke. */
  readonly #grants: Requests;
  /** Aborted by {@link SessionKeeper.close}: no session is opened after it. */
  readonly #stop = new AbortController();
  /** The current session's lease; set by {@link SessionKeeper.start}. */
  #lease: LeaseKeeper | undefined;
  /** The grant of the current session's lease, while in flight (close waits for it, to revoke it). */
  #granting: Promise<void> | undefined;

  constructor(parts: KeeperParts, events: SessionEvents) {
    this.#parts = parts;
    this.#events = events;
    this.#grants = new Requests(parts.endpoints, parts.label, parts.config.settings.operationTimeout, new AbortController().signal);
  }

  /** The current session (after an expiry, the next one at once, `suspended` until granted). */
  get current(): ManagedSession {
    return this.#started().session;
  }

  /**
   * Opens the first session (a lease and its session key) within `timeout` ms.
   * @throws CoordError `UNAVAILABLE` / `TIMEOUT` if no member answers in time, `AUTH_FAILED`
   *   if the credentials are refused.
   */
  async start(timeout: number): Promise<void> {
    const { requests, keys, config } = this.#parts;
    const grant = await openLease(requests, keys, ttlSecondsOf(config), timeout);
    this.#lease = this.#keep(grant.id, grant.sentAt);
  }

  /**
   * The current session, once etcd has granted its lease (a session opened after an expiry
   * exists at once, but its lease is granted in the background).
   * @throws CoordError `SESSION_EXPIRED` if that session ended meanwhile; `TIMEOUT`.
   */
  async whenGranted(): Promise<ManagedSession> {
    const lease = this.#started();
    const { session } = lease;
    if (session.ended) throw abortReason(session.signal, `${this.#parts.label}: session`);
    if (!lease.isGranted) await this.#parts.requests.run('wait for the session', () => lease.ready, 'always');
    return session;
  }

  /** etcd refused a write with `session`'s lease because the lease is gone: it is over on etcd's word. */
  leaseGone(session: ManagedSession): void {
    this.#lost(session, 'server');
  }

  /**
   * Resolves once `session` has ended, or a read found its session key still there (a node
   * watch holds the deletion of the session's own node until then, see `watches.ts`).
   */
  confirm(session: ManagedSession): Promise<unknown> {
    const key = this.#parts.keys.sessionKey(session.id).start;
    const read = this.#parts.requests
      .run('read the session key', (client, o) => client.kv.range({ key, count_only: true }, o), 'always', session.signal)
      .then((response) => {
        if (response.count === '0') this.#lost(session, 'server');
      });
    let onEnd = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      onEnd = resolve;
      session.signal.addEventListener('abort', onEnd, { once: true });
    });
    return Promise.race([read.catch(() => undefined), ended]).finally(() => session.signal.removeEventListener('abort', onEnd));
  }

  /**
   * Closes the current session and stops renewing it at once (before the promise is
   * returned, so the driver can close its hub next); the promise settles once the lease is
   * revoked — removing the session's ephemeral nodes for everyone else at once. A grant in
   * flight is waited for first, so its lease cannot outlive the driver.
   */
  close(): Promise<void> {
    if (this.#stop.signal.aborted) return Promise.resolve();
    this.#stop.abort(new Error('the session keeper is closed'));
    const lease = this.#lease;
    if (lease === undefined) return Promise.resolve();
    lease.session.close();
    lease.stop();
    this.#events.onEnded(lease.session);
    return this.#revoke(lease);
  }

  async #revoke(lease: LeaseKeeper): Promise<void> {
    await this.#granting?.catch(() => undefined);
    await revoke(this.#parts.endpoints, lease.leaseId, this.#parts.config).catch(() => undefined);
  }

  #started(): LeaseKeeper {
    if (this.#lease === undefined) throw new Error(`${this.#parts.label}: the session keeper has not started`);
    return this.#lease;
  }

  /** A keeper for lease `id`: granted at `sentAt`, or pending (granted later by {@link #reopen}). */
  #keep(id: string, sentAt?: number): LeaseKeeper {
    const lease = new LeaseKeeper(
      this.#parts.endpoints,
      id,
      ttlSecondsOf(this.#parts.config),
      { onChange: (change) => this.#events.onChange(change), onLost: (session, why) => this.#lost(session, why) },
      sentAt,
    );
    if (sentAt !== undefined) this.#watchSessionKey(lease.session);
    return lease;
  }

  /** The one place a session ends: on etcd's word (`server`) or by its local deadline. */
  #lost(session: ManagedSession, why: 'server' | 'deadline'): void {
    const lease = this.#lease;
    if (lease === undefined || lease.session !== session || session.ended) return;
    session.expire(why === 'server' ? 'expired on etcd (its lease is gone)' : 'passed its local deadline without a renewal');
    lease.stop();
    this.#events.onEnded(session);
    // Given up locally while etcd may still hold it: revoke it, in case etcd can hear us (if
    // it cannot, the lease expires there on its own).
    if (why === 'deadline') void revoke(this.#parts.endpoints, lease.leaseId, this.#parts.config).catch(() => undefined);
    if (!this.#stop.signal.aborted) this.#reopen();
  }

  /**
   * Opens the next session: at once, under a lease id of our choosing, in state `suspended`
   * (listeners hear of it, expired → connected, once granted); its lease is granted in the
   * background (see {@link #grant}).
   */
  #reopen(): void {
    const lease = this.#keep(randomLeaseId());
    this.#lease = lease;
    const granting = this.#grant(lease);
    this.#granting = granting;
    void granting.finally(() => {
      if (this.#granting === granting) this.#granting = undefined;
    });
  }

  /**
   * Grants `lease`, retried until etcd grants it, the session's local deadline passes first
   * (then the next one takes over), or the keeper closes. A grant in flight is not cancelled
   * by close (etcd may grant it anyway): one that lands after is revoked, and close waits.
   */
  async #grant(lease: LeaseKeeper): Promise<void> {
    const { session } = lease;
    const { endpoints, keys, config } = this.#parts;
    using stop = linkSignals(this.#stop.signal, session.signal);
    let discarded: Promise<void> | undefined;
    const open = (): ReturnType<typeof openLease> => openLease(this.#grants, keys, ttlSecondsOf(config), config.settings.operationTimeout, session.id);
    const discard = (): void => {
      discarded = revoke(endpoints, session.id, config).catch(() => undefined);
    };
    let sentAt: number;
    try {
      ({ sentAt } = await retryUntilOpen(open, stop.signal, REGRANT, discard));
    } catch {
      await discarded;
      return;
    }
    // Closed in the moment since: close revokes this lease (it waits for this grant).
    if (stop.signal.aborted) return;
    lease.granted(sentAt);
    this.#watchSessionKey(session);
    // Announced as the memory driver does: the switch from the expired session.
    this.#events.onChange({ session, previous: 'expired', state: 'connected' });
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
  #watchSessionKey(session: ManagedSession): void {
    const { keys, hub, requests } = this.#parts;
    const range = keys.sessionKey(session.id);
    const gone = (event: IEvent): boolean => {
      if (event.type !== 'Delete') return false;
      this.#lost(session, 'server');
      return true;
    };
    void hub.arm(range, '0', gone, session).then(async (event) => {
      if (event !== 'changed' || session.ended) return;
      try {
        const response = await requests.run('read the session key', (client, o) => client.kv.range({ key: range.start }, o), 'always');
        if (response.kvs.length === 0) this.#lost(session, 'server');
        else this.#watchSessionKey(session);
      } catch {
        // Unreachable: the keep-alives and the local deadline decide.
      }
    });
  }
}
