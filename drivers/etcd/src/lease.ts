/**
 * One lease's life: its grant (under an id the client picks) with its session key, its
 * keep-alive ({@link LeaseKeeper}), and its revocation. The session life cycle built on these
 * (first session, expiry, the next session) is `session.ts`.
 *
 * A session on etcd is ONE lease, kept alive by this client over a LeaseKeepAlive stream.
 * Every ephemeral node of the session is a key attached to that lease, so a lock costs no
 * lease of its own (etcd3's `Lock` grants one per acquire).
 *
 * The session's local deadline is the **send** time of the last keep-alive etcd answered (a
 * monotonic clock) plus the TTL asked for (etcd grants at least that), minus core's safety
 * margin: etcd cannot expire the lease earlier than the keep-alive's arrival plus its TTL,
 * which is later. `etcd3`'s own `lost` event is not used: it fires up to a TTL after the
 * lease could be gone.
 *
 * Keep-alives go every third of the TTL (as etcd's Go client does). A keep-alive answered
 * with TTL 0 means etcd already dropped the lease (revoked, or expired while we were cut
 * off): the session is over on the server's word. A broken stream suspends the session and
 * is reopened with backoff; the local deadline ends it if that takes too long.
 */
import { randomBytes } from 'node:crypto';
import { CoordError, ManagedSession, monotonicNow, type ConnectionConfig, type SessionStateChange } from '@coord/core';
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import type { Endpoints, Requests } from './client.js';
import type { KeyLayout } from './keys.js';

/** A lease etcd granted. */
export interface Grant {
  readonly id: string;
  /** Monotonic send time of the grant request (the session's first renewal). */
  readonly sentAt: number;
}

/**
 * Grants lease `id` (client-chosen, see {@link LeaseKeeper}) and puts the session key on it
 * (see {@link KeyLayout.sessionKey}). A repeat after a lost reply finds the lease already
 * granted: that is ours, and the deadline counts from the first send (the earliest etcd can
 * have started it). A fresh id that collides with another client's lease is refused with
 * `NODE_EXISTS`, and the caller picks another.
 */
export async function openLease(requests: Requests, keys: KeyLayout, ttlSeconds: number, timeout: number, id = randomLeaseId()): Promise<Grant> {
  const started = Date.now();
  let sentAt: number | undefined;
  await requests.run(
    'grant a lease',
    async (client, o, n) => {
      sentAt ??= monotonicNow();
      try {
        await client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }, o);
      } catch (error) {
        if (!/lease already exists/.test(String((error as Error).message))) throw error;
        if (n === 0) throw new CoordError('NODE_EXISTS', `lease ${id} exists`);
      }
    },
    'always',
    undefined,
    timeout,
  );
  try {
    const key = keys.sessionKey(id).start;
    await requests.run(
      'put the session key',
      (client, o) => client.kv.put({ key, value: Buffer.alloc(0), lease: id }, o),
      'always',
      undefined,
      Math.max(1, timeout - (Date.now() - started)),
    );
    return { id, sentAt: sentAt ?? monotonicNow() };
  } catch (error) {
    await requests.run('revoke the lease', (client, o) => client.leaseClient.leaseRevoke({ ID: id }, o), 'always', undefined, timeout).catch(() => undefined);
    throw error;
  }
}

/** A random positive 63-bit lease id, in decimal (etcd's ids are positive int64s). */
export function randomLeaseId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 1n || 1n).toString();
}

/** Revokes a lease (its keys go at once), within the operation timeout; never retried. */
export async function revoke(endpoints: Endpoints, leaseId: string, config: ConnectionConfig): Promise<void> {
  const deadline = new Date(Date.now() + config.settings.operationTimeout);
  await endpoints.current.leaseClient.leaseRevoke({ ID: leaseId }, { deadline });
}

/** The lease TTL in whole seconds: the URL's `ttl`, else the session timeout rounded up. */
export function ttlSecondsOf(config: ConnectionConfig): number {
  return config.options.ttlSeconds ?? Math.max(1, Math.ceil(config.settings.sessionTimeout / 1000));
}


type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** What the session keeper learns from a lease's keeper. */
export interface LeaseHooks {
  /** Every state transition of the session. */
  onChange(change: SessionStateChange): void;
  /** The session ended: on etcd's word (`server`) or by its local deadline (`deadline`). */
  onLost(session: ManagedSession, why: 'server' | 'deadline'): void;
}

/** One lease and the keep-alive stream that renews it. */
export class LeaseKeeper {
  /** The session this lease is. Its id is the lease id in decimal. */
  readonly session: ManagedSession;
  readonly #endpoints: Endpoints;
  readonly #hooks: LeaseHooks;
  readonly #interval: number;
  /** Send times of the keep-alives not answered yet, oldest first (etcd answers in order). */
  #inFlight: number[] = [];
  #stream: KeepAliveStream | undefined;
  /** The member's client the stream runs on. */
  #streamClient: Etcd3 | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoff = 100;
  #stopped = false;

  /**
   * A session whose lease id the client chose (etcd grants a lease under a requested id), so
   * the session exists — with its final id — before etcd has granted it: after an expiry the
   * keeper has a live next session at once, and recipes wait for its grant rather than fail.
   * @param leaseId the lease id (decimal)
   * @param ttlSeconds the TTL asked for (etcd may grant more, never less)
   * @param sentAt monotonic send time of the grant request, if it is already granted;
   *   otherwise the session starts `suspended` until {@link LeaseKeeper.granted}
   */
  constructor(endpoints: Endpoints, leaseId: string, ttlSeconds: number, hooks: LeaseHooks, sentAt?: number) {
    this.#endpoints = endpoints;
    this.#hooks = hooks;
    this.session = new ManagedSession(leaseId, ttlSeconds * 1000, sentAt ?? monotonicNow(), (change) => this.#changed(change), (session) =>
      hooks.onLost(session, 'deadline'),
    );
    this.#interval = Math.max(100, Math.floor((ttlSeconds * 1000) / 3));
    this.ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    this.ready.catch(() => undefined);
    if (sentAt !== undefined) {
      this.granted(sentAt);
    } else {
      // Quietly: the session keeper announces the new session once granted (expired → connected).
      this.#quiet = true;
      this.session.suspend();
      this.#quiet = false;
    }
  }

  /** Settles when etcd has granted the lease; rejects if the session ends first. */
  readonly ready: Promise<void>;
  #ready: { resolve(): void; reject(reason: unknown): void } | undefined;
  #quiet = false;

  /** Whether etcd has granted the lease. */
  get isGranted(): boolean {
    return this.#ready === undefined;
  }

  /** etcd granted the lease with a request sent at monotonic time `sentAt`: start renewing. */
  granted(sentAt: number): void {
    const ready = this.#ready;
    if (ready === undefined || this.#stopped) return;
    this.#ready = undefined;
    this.session.renewed(sentAt);
    // Quietly: the session keeper announces a session granted late itself (expired → connected).
    this.#quiet = true;
    this.session.resume();
    this.#quiet = false;
    this.#open();
    ready.resolve();
  }

  #changed(change: SessionStateChange): void {
    if (!this.#quiet) this.#hooks.onChange(change);
  }

  /** The lease id as etcd takes it in requests. */
  get leaseId(): string {
    return this.session.id;
  }

  /** Stops renewing (the session ended or the keeper closes). Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ready?.reject(this.session.signal.reason ?? new Error('stopped'));
    this.#ready = undefined;
    this.#teardown();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #open(): void {
    if (this.#stopped) return;
    const client = this.#endpoints.current;
    client.leaseClient.leaseKeepAlive().then(
      (stream) => this.#attach(stream, client),
      () => {
        this.#endpoints.failed(client);
        this.#broken(undefined);
      },
    );
  }

  #attach(stream: KeepAliveStream, client: Etcd3): void {
    if (this.#stopped) {
      stream.cancel();
      return;
    }
    this.#stream = stream;
    this.#streamClient = client;
    this.#inFlight = [];
    stream.on('data', (response: ILeaseKeepAliveResponse) => this.#answered(response));
    stream.on('error', () => this.#broken(stream));
    stream.on('end', () => this.#broken(stream));
    this.#send();
    this.#ticker = setInterval(() => this.#send(), this.#interval);
  }

  #send(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#stopped) return;
    // Keep-alives unanswered for a whole interval: the stream is stuck on a silent
    // connection. Start another (gRPC's pings close the dead connection meanwhile).
    const oldest = this.#inFlight[0];
    if (oldest !== undefined && monotonicNow() - oldest > this.#interval * 1.5) {
      this.#broken(stream);
      return;
    }
    this.#inFlight.push(monotonicNow());
    stream.write({ ID: this.leaseId });
  }

  #answered(response: ILeaseKeepAliveResponse): void {
    const sentAt = this.#inFlight.shift();
    if (this.#stopped) return;
    if (response.TTL === '0' || Number(response.TTL) <= 0) {
      this.#hooks.onLost(this.session, 'server');
      return;
    }
    this.#backoff = 100;
    if (sentAt !== undefined) this.session.renewed(sentAt);
    this.session.resume();
  }

  #broken(stream: KeepAliveStream | undefined): void {
    if (stream !== undefined && stream !== this.#stream) return; // an old stream's late event
    this.#teardown();
    if (this.#stopped) return;
    if (stream !== undefined && this.#streamClient !== undefined) this.#endpoints.failed(this.#streamClient);
    this.session.suspend();
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#open();
    }, this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, this.#interval);
  }

  #teardown(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#inFlight = [];
    if (stream !== undefined) {
      (stream as unknown as NodeJS.EventEmitter).removeAllListeners();
      stream.on('error', () => undefined); // a cancelled stream reports CANCELLED: expected
      stream.cancel();
    }
  }
}
