/**
 * Watches on Redis: pub/sub plus a bounded re-check.
 *
 * Every mutating script publishes `"<rev> n"` on the channel of the node it changed and
 * `"<rev> c"` on its parent's, where `rev` is the namespace counter after the change; every
 * read returns the counter as it read. A watched read goes out as `SUBSCRIBE <channel>` and
 * the read script in ONE write on the command connection (RESP3 lets a subscribed connection
 * run commands), which the server runs in that order: the subscription is live before the
 * read, so nothing between them is missed, and it costs no extra round trip. Messages with a
 * `rev` at or below the read's are old news and ignored, so nothing before the read fires it.
 *
 * Pub/sub is fire-and-forget (a message sent while we reconnect is lost) and a session's
 * expiry publishes nothing by itself, so every armed watch is also re-read on a bounded
 * interval tied to the TTL (and at once after a reconnection). The re-read runs the pruning
 * scripts, so a dead holder's node is removed — and its deletion published — even when nobody
 * else writes. A re-read that sees a different node or child list fires the watch; one that
 * sees the same does nothing (no spurious wake-up).
 *
 * A channel is unsubscribed when its last watch goes (fired, cancelled, or its session ended).
 */
import type { Redis } from 'ioredis';
import type { WatchEvent } from '@coord/core';
import type { Connection } from './connection.js';
import { parseChange, type ChangeKind, type Layout } from './layout.js';

/** What a watched read gives the hub: the revision it read at, and a fingerprint of what it saw. */
export interface WatchedReply {
  readonly revision: number;
  readonly fingerprint: string;
}

/** A read of what a watch watches; `subscribe` returns the channel to subscribe in the same write. */
export type WatchedRead<R extends WatchedReply> = (subscribe: () => string | undefined) => Promise<R>;

/** What a session is, to the hub: something that ends. */
interface Bound {
  readonly signal: AbortSignal;
}

class Watch {
  readonly channel: string;
  readonly kind: ChangeKind;
  readonly session: Bound;
  /** The read's revision, once known; changes at or below it are old news. */
  rev: number | undefined;
  /** Highest matching revision seen before the read's revision was known. */
  seen = 0;
  fingerprint = '';
  recheck: (() => Promise<string>) | undefined;
  checking = false;
  settled = false;
  event: WatchEvent | undefined;
  resolve: ((event: WatchEvent) => void) | undefined;
  readonly cleanups: (() => void)[] = [];

  constructor(channel: string, kind: ChangeKind, session: Bound) {
    this.channel = channel;
    this.kind = kind;
    this.session = session;
  }
}

/** Every watch of one driver, on its command connection. */
export class WatchHub {
  readonly #layout: Layout;
  readonly #recheckMs: number;
  readonly #conn: Connection;
  readonly #channels = new Map<string, Set<Watch>>();
  /** Channels the live connection is subscribed to (confirmed by the server). */
  readonly #subscribed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @param recheckMs how often every armed watch is re-read */
  constructor(layout: Layout, recheckMs: number, conn: Connection) {
    this.#layout = layout;
    this.#recheckMs = recheckMs;
    this.#conn = conn;
    const client: Redis = conn.client;
    client.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (Buffer.isBuffer(message)) this.#message(channel.toString(), message.toString());
    });
    client.on('close', () => this.#subscribed.clear());
    client.on('ready', () => this.#reconnected());
  }

  /** Armed watches (for tests). */
  get size(): number {
    let total = 0;
    for (const watches of this.#channels.values()) total += watches.size;
    return total;
  }

  /**
   * A read with a watch: registers the watch, runs `read` (which subscribes the path's channel
   * in the same write when needed), and arms the watch from the read's revision; `recheck`
   * reads again (a fingerprint that differs fires the watch).
   * @throws what `read` throws (the watch is dropped then).
   */
  async watch<R extends WatchedReply>(
    path: string,
    kind: ChangeKind,
    session: Bound,
    signal: AbortSignal | undefined,
    read: WatchedRead<R>,
    recheck: () => Promise<R>,
  ): Promise<{ reply: R; changed: Promise<WatchEvent> }> {
    const name = this.#layout.channel(path);
    const watch = new Watch(name, kind, session);
    // Registered before the read, so a message that beats the read's reply is remembered.
    let watches = this.#channels.get(name);
    if (watches === undefined) this.#channels.set(name, (watches = new Set()));
    watches.add(watch);
    let reply: R;
    try {
      reply = await read(() => (this.#subscribed.has(name) ? undefined : name));
    } catch (error) {
      this.#forget(watch);
      throw error;
    }
    this.#subscribed.add(name);
    const changed = this.#arm(watch, reply.revision, reply.fingerprint, async () => (await recheck()).fingerprint, signal);
    return { reply, changed };
  }

  /** Resolves every watch bound to `session` with `'session'`. */
  sessionEnded(session: Bound): void {
    for (const watches of [...this.#channels.values()]) {
      for (const watch of [...watches]) if (watch.session === session) this.#settle(watch, 'session');
    }
  }

  /** Resolves every watch with `'session'` and stops re-checking. */
  close(): void {
    this.#closed = true;
    for (const watches of [...this.#channels.values()]) for (const watch of [...watches]) this.#settle(watch, 'session');
    this.#stopTimer();
  }

  #arm(watch: Watch, rev: number, fingerprint: string, recheck: () => Promise<string>, signal: AbortSignal | undefined): Promise<WatchEvent> {
    return new Promise<WatchEvent>((resolve) => {
      watch.resolve = resolve;
      if (watch.event !== undefined) return resolve(watch.event);
      watch.rev = rev;
      watch.fingerprint = fingerprint;
      watch.recheck = recheck;
      // A session's end reaches the watch through sessionEnded(), not one listener per watch
      // on the session's signal (hundreds of waiters would pile listeners on it).
      if (watch.session.signal.aborted) return this.#settle(watch, 'session');
      if (signal?.aborted) return this.#settle(watch, 'cancelled');
      if (watch.seen > rev) return this.#settle(watch, 'changed');
      const onAbort = (): void => this.#settle(watch, 'cancelled');
      signal?.addEventListener('abort', onAbort, { once: true });
      watch.cleanups.push(() => signal?.removeEventListener('abort', onAbort));
      this.#startTimer();
    });
  }

  #settle(watch: Watch, event: WatchEvent): void {
    if (watch.settled) return;
    watch.event = event;
    for (const cleanup of watch.cleanups.splice(0)) cleanup();
    this.#forget(watch);
    watch.resolve?.(event);
  }

  #forget(watch: Watch): void {
    watch.settled = true;
    const watches = this.#channels.get(watch.channel);
    if (watches === undefined || !watches.delete(watch)) return;
    if (watches.size === 0) {
      this.#channels.delete(watch.channel);
      // A later watch of this channel sends its own SUBSCRIBE after this on the same
      // connection, so the order on the server is right either way.
      if (this.#subscribed.delete(watch.channel) && this.#conn.ready && !this.#closed) {
        this.#conn.client.unsubscribe(watch.channel).catch(() => undefined);
      }
    }
    if (this.#channels.size === 0) this.#stopTimer();
  }

  #message(name: string, message: string): void {
    const change = parseChange(message);
    const watches = this.#channels.get(name);
    if (change === undefined || watches === undefined) return;
    for (const watch of [...watches]) {
      if (watch.kind !== change.kind) continue;
      if (watch.rev === undefined) watch.seen = Math.max(watch.seen, change.rev);
      else if (change.rev > watch.rev) this.#settle(watch, 'changed');
    }
  }

  /** Back after a reconnection: subscribe again to what armed watches need, then re-read them. */
  #reconnected(): void {
    const names = [...this.#channels.keys()];
    if (names.length === 0 || this.#closed) return;
    this.#conn.client.subscribe(...names).then(
      () => {
        for (const name of names) if (this.#channels.has(name)) this.#subscribed.add(name);
        void this.#recheckAll();
      },
      () => undefined, // dropped again: the next 'ready' tries again
    );
  }

  async #recheckAll(): Promise<void> {
    const armed: Watch[] = [];
    for (const watches of this.#channels.values()) for (const watch of watches) if (watch.recheck !== undefined) armed.push(watch);
    await Promise.all(armed.map((watch) => this.#recheck(watch)));
  }

  async #recheck(watch: Watch): Promise<void> {
    if (watch.checking || watch.settled || watch.recheck === undefined) return;
    watch.checking = true;
    try {
      const now = await watch.recheck();
      if (now !== watch.fingerprint) this.#settle(watch, 'changed');
    } catch {
      // Unreachable for now; the next round tries again (and the session's deadline rules).
    } finally {
      watch.checking = false;
    }
  }

  #startTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.#recheckAll(), this.#recheckMs);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
