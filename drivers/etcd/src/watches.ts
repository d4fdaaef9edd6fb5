/**
 * One-shot watches, multiplexed over ONE etcd watch stream per driver.
 *
 * Each watch starts at the revision after the read it came with, so nothing that happened
 * between the read and the watch is missed. A watch fires on the first event it accepts and
 * is cancelled on the server at once; an aborted watch is cancelled too, so nothing stays
 * registered on etcd (the conformance suite counts etcd's watchers after every test).
 *
 * If the stream breaks (a member died, the connection was reset), every armed watch is
 * registered again on a new stream from its own start revision: still no gap. If etcd
 * compacted that revision away, the watch cannot be resumed; it fires `changed` and the
 * caller's re-read (docs/design.md R2) finds out what happened.
 */
import { oneShotWatch, type ManagedSession, type OneShotWatch, type WatchEvent } from '@coord/core';
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { Endpoints } from './client.js';
import type { KeyLayout, KeyRange } from './keys.js';

/** How many of its own recent delete revisions the driver remembers (see {@link OwnDeletes}). */
const RECENT_DELETES = 1024;

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Which events fire a watch: `true` fires it, `false` ignores the event, and a promise fires
 * it once settled — the way to hold an event until something is checked (that the session
 * still lives, before reporting its own node gone: {@link ownNodeCheck}). An accept is the
 * watch's own filter; the hub calls nothing else of its caller's.
 */
export type Accept = (event: IEvent) => boolean | Promise<unknown>;

/** A child watch counts creates and deletes of children, not data changes of children. */
export const CHILD_CHANGE: Accept = (event) => event.type === 'Delete' || event.kv.version === '1';

/**
 * The driver's own deletes: in flight (by path) and recently answered (by revision). A node
 * watch that sees one of them needs no session check ({@link ownNodeCheck}).
 */
export class OwnDeletes {
  readonly #keys: KeyLayout;
  /** Paths being deleted now (how many deletes of each are in flight). */
  readonly #inFlight = new Map<string, number>();
  /** Revisions of recent successful deletes, oldest first. */
  readonly #answered = new Set<string>();

  constructor(keys: KeyLayout) {
    this.#keys = keys;
  }

  /** A delete of `path` is sent. */
  begin(path: string): void {
    this.#inFlight.set(path, (this.#inFlight.get(path) ?? 0) + 1);
  }

  /** A delete of `path` is answered (or failed). */
  end(path: string): void {
    const left = (this.#inFlight.get(path) ?? 1) - 1;
    if (left > 0) this.#inFlight.set(path, left);
    else this.#inFlight.delete(path);
  }

  /** A delete succeeded at `revision`. */
  succeeded(revision: string): void {
    this.#answered.add(revision);
    if (this.#answered.size > RECENT_DELETES) this.#answered.delete(this.#answered.values().next().value as string);
  }

  /** Whether a delete event is one of ours. */
  covers(event: IEvent): boolean {
    if (this.#answered.has(event.kv.mod_revision)) return true;
    const path = this.#keys.decode(event.kv.key)?.path;
    return path !== undefined && this.#inFlight.has(path);
  }
}

/**
 * A node watch fires on any change, except that the deletion of a node of this very
 * session is held until the session is known to live (`confirm`, the session keeper's read of
 * its session key): when etcd revokes the lease, the session must end (SESSION_EXPIRED)
 * before its holder can read its node as gone (LOST). The session key's own deletion usually
 * arrives a moment later in the same notification. Our own delete (in flight, or answered at
 * this revision) needs no check: the common case of a release watched by another waiter of
 * the same session.
 */
export function ownNodeCheck(session: ManagedSession, deletes: OwnDeletes, confirm: (session: ManagedSession) => Promise<unknown>): Accept {
  return (event) => {
    if (event.type !== 'Delete' || session.ended || event.prev_kv?.lease !== session.id) return true;
    if (deletes.covers(event)) return true;
    return confirm(session);
  };
}

/** A watch the hub keeps until it fires, is cancelled, or its session ends. */
interface Armed<S> {
  readonly range: KeyRange;
  /** Where the watch starts; `'0'` (etcd: "from now") becomes concrete once etcd confirms it. */
  startRevision: string;
  readonly accept: Accept;
  /** Ask etcd for the previous value with delete events (to see whose node went). */
  readonly prevKv: boolean;
  /** The session the watch belongs to (settled with `session` when that ends). */
  readonly owner: S;
  /** The watch id on the current stream, once etcd confirmed the create. */
  id: string | undefined;
  /** Settles once (core's one-shot watch); settling drops it from the hub and from etcd. */
  readonly watch: OneShotWatch;
}

/**
 * The watch stream of one driver. It depends on the client ({@link Endpoints}) only: the
 * driver and the session keeper arm watches on it, and it never calls back into either.
 */
export class WatchHub<S> {
  readonly #endpoints: Endpoints;
  readonly #armed = new Set<Armed<S>>();
  /** Watches whose create was sent on the current stream, in order (etcd answers in order). */
  #creating: Armed<S>[] = [];
  readonly #byId = new Map<string, Armed<S>>();
  #stream: WatchStream | undefined;
  /** The member's client the stream runs on. */
  #streamClient: Etcd3 | undefined;
  #connecting = false;
  #retry: NodeJS.Timeout | undefined;
  #backoff = 50;
  #closed = false;

  constructor(endpoints: Endpoints) {
    this.#endpoints = endpoints;
  }

  /** Number of armed watches (for tests). */
  get size(): number {
    return this.#armed.size;
  }

  /**
   * Arms a one-shot watch on `range` from `startRevision` (`'0'`: from now — etcd serves such
   * a watch at once, while one from an older revision waits for etcd's catch-up loop).
   * @param accept which events count (a child watch ignores data changes of children)
   * @param signal cancels the watch: it resolves `cancelled` and is removed from etcd
   * @returns resolves `changed`, `session` or `cancelled`; never rejects
   */
  arm(range: KeyRange, startRevision: string, accept: Accept, owner: S, signal?: AbortSignal, prevKv = false): Promise<WatchEvent> {
    if (signal?.aborted === true || this.#closed) return Promise.resolve(this.#closed ? 'session' : 'cancelled');
    const watch = oneShotWatch(signal, () => this.#drop(armed));
    const armed: Armed<S> = { range, startRevision, accept, prevKv, owner, id: undefined, watch };
    this.#armed.add(armed);
    if (this.#stream !== undefined) this.#create(armed);
    else this.#connect();
    return watch.changed;
  }

  /** Resolves every watch of `owner` with `event` (its session ended). */
  settleOwner(owner: S, event: WatchEvent): void {
    for (const armed of [...this.#armed]) if (armed.owner === owner) armed.watch.settle(event);
  }

  /** Resolves every watch with `session` and ends the stream. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const armed of [...this.#armed]) armed.watch.settle('session');
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#teardown();
  }

  #connect(): void {
    if (this.#connecting || this.#stream !== undefined || this.#closed || this.#retry !== undefined) return;
    this.#connecting = true;
    const client = this.#endpoints.current;
    client.watchClient.watch().then(
      (stream) => {
        this.#connecting = false;
        this.#streamClient = client;
        this.#attach(stream);
      },
      () => {
        this.#connecting = false;
        this.#endpoints.failed(client);
        this.#broken(undefined);
      },
    );
  }

  #attach(stream: WatchStream): void {
    if (this.#closed) {
      stream.on('error', () => undefined);
      stream.cancel();
      return;
    }
    this.#stream = stream;
    stream.on('data', (response: IWatchResponse) => this.#received(response));
    stream.on('error', () => this.#broken(stream));
    stream.on('end', () => this.#broken(stream));
    for (const armed of this.#armed) this.#create(armed);
  }

  #create(armed: Armed<S>): void {
    this.#creating.push(armed);
    this.#stream?.write({
      create_request: {
        key: armed.range.start,
        range_end: armed.range.end,
        start_revision: armed.startRevision,
        ...(armed.prevKv ? { prev_kv: true } : {}),
      },
    });
  }

  #received(response: IWatchResponse): void {
    this.#backoff = 50;
    if (response.created) {
      const armed = this.#creating.shift();
      if (armed === undefined || armed.watch.settled) {
        // Cancelled before etcd confirmed it: remove it now that it has an id.
        if (!response.canceled) this.#cancel(response.watch_id);
        return;
      }
      if (response.canceled) {
        armed.watch.settle('changed'); // refused (e.g. compacted): the caller re-reads
        return;
      }
      armed.id = response.watch_id;
      this.#byId.set(response.watch_id, armed);
      // A watch "from now" resumes, after a reconnect, right after the revision it began at.
      if (armed.startRevision === '0') armed.startRevision = (BigInt(response.header.revision) + 1n).toString();
      // A create response may carry no events; events come in later responses.
      return;
    }
    const armed = this.#byId.get(response.watch_id);
    if (armed === undefined) return; // a watch we cancelled, or etcd's answer to the cancel
    if (response.canceled) {
      // etcd ended the watch itself (its start revision was compacted away): re-read.
      this.#byId.delete(response.watch_id);
      armed.id = undefined;
      armed.watch.settle('changed');
      return;
    }
    for (const event of response.events) {
      const verdict = armed.accept(event);
      if (verdict === true) {
        armed.watch.settle('changed');
        return;
      }
      if (verdict !== false) {
        void verdict.then(
          () => armed.watch.settle('changed'),
          () => armed.watch.settle('changed'),
        );
        return;
      }
    }
  }

  #drop(armed: Armed<S>): void {
    this.#armed.delete(armed);
    if (armed.id !== undefined) {
      this.#byId.delete(armed.id);
      this.#cancel(armed.id);
      armed.id = undefined;
    }
  }

  #cancel(id: string): void {
    this.#stream?.write({ cancel_request: { watch_id: id } });
  }

  #broken(stream: WatchStream | undefined): void {
    if (stream !== undefined && stream !== this.#stream) return;
    if (stream !== undefined && this.#streamClient !== undefined) this.#endpoints.failed(this.#streamClient);
    this.#teardown();
    if (this.#closed || this.#armed.size === 0) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, 1_000);
  }

  #teardown(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#creating = [];
    this.#byId.clear();
    for (const armed of this.#armed) armed.id = undefined;
    if (stream !== undefined) {
      (stream as unknown as NodeJS.EventEmitter).removeAllListeners();
      stream.on('error', () => undefined); // cancelling reports CANCELLED: expected
      stream.cancel();
    }
  }
}
