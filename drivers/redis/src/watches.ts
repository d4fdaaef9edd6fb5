/**
 * Watches on Redis: pub/sub plus a bounded re-check.
 *
 * Every mutating script publishes `"<rev> n"` on the channel of the node it changed and
 * `"<rev> c"` on its parent's, where `rev` is the namespace counter after the change; every
 * read returns the counter as it read. A watch subscribes BEFORE its read and keeps only
 * messages with a `rev` above its read's, so nothing between the read and the subscription is
 * missed and nothing from before the read fires it.
 *
 * Pub/sub is fire-and-forget (a message sent while the subscriber reconnects is lost) and a
 * session's expiry publishes nothing by itself, so every armed watch is also re-read on a
 * bounded interval tied to the TTL (and at once after the subscriber reconnects). The re-read
 * runs the pruning scripts, so a dead holder's node is removed — and its deletion published —
 * even when nobody else writes. A re-read that sees a different node or child list fires the
 * watch; one that sees the same does nothing (no spurious wake-up).
 *
 * One subscriber connection per driver serves every watch; a channel is unsubscribed when its
 * last watch goes (fired, cancelled, or its session ended).
 */
import type { Redis } from 'ioredis';
import { monotonicNow, type WatchEvent } from '@coord/core';
import type { Connection } from './connection.js';
import { parseChange, type ChangeKind, type Layout } from './layout.js';

/** A re-read of what a watch watches: its fingerprint now (throws if the server is unreachable). */
export type Recheck = () => Promise<string>;

/** A watch between its subscription and its read. */
export interface PendingWatch {
  /**
   * The read succeeded at namespace revision `rev` and saw `fingerprint`: arm the watch.
   * Resolves on the next change after the read; never rejects.
   */
  arm(rev: number, fingerprint: string, recheck: Recheck): Promise<WatchEvent>;
  /** The read failed: forget the watch. */
  drop(): void;
}

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
  recheck: Recheck | undefined;
  checking = false;
  settled = false;
  resolve: ((event: WatchEvent) => void) | undefined;
  event: WatchEvent | undefined;
  readonly cleanups: (() => void)[] = [];

  constructor(channel: string, kind: ChangeKind, session: Bound) {
    this.channel = channel;
    this.kind = kind;
    this.session = session;
  }
}

interface Channel {
  readonly watches: Set<Watch>;
  subscribed: boolean;
  chain: Promise<void>;
}

/** Every watch of one driver, on one subscriber connection. */
export class WatchHub {
  readonly #layout: Layout;
  readonly #recheckMs: number;
  readonly #connect: () => Connection;
  readonly #channels = new Map<string, Channel>();
  #sub: Connection | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * @param connect makes the subscriber connection (called on the first watch)
   * @param recheckMs how often every armed watch is re-read
   */
  constructor(layout: Layout, recheckMs: number, connect: () => Connection) {
    this.#layout = layout;
    this.#recheckMs = recheckMs;
    this.#connect = connect;
  }

  /** Armed watches (for tests). */
  get size(): number {
    let total = 0;
    for (const channel of this.#channels.values()) total += channel.watches.size;
    return total;
  }

  /**
   * Subscribes to `path`'s channel for a watch of `kind`, before the read it goes with.
   * @throws CoordError if the subscription cannot be made by `deadline` (or `signal` aborts).
   */
  async prepare(path: string, kind: ChangeKind, session: Bound, deadline: number, signal?: AbortSignal): Promise<PendingWatch> {
    const name = this.#layout.channel(path);
    const watch = new Watch(name, kind, session);
    const channel = this.#channel(name);
    channel.watches.add(watch);
    try {
      await this.#subscribe(name, channel, deadline, signal);
    } catch (error) {
      this.#forget(watch);
      throw error;
    }
    return {
      arm: (rev, fingerprint, recheck) => this.#arm(watch, rev, fingerprint, recheck, signal),
      drop: () => this.#forget(watch),
    };
  }

  /** Resolves every watch bound to `session` with `'session'`. */
  sessionEnded(session: Bound): void {
    for (const channel of this.#channels.values()) {
      for (const watch of channel.watches) if (watch.session === session) this.#settle(watch, 'session');
    }
  }

  /** Resolves every watch with `'session'` and closes the subscriber connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of this.#channels.values()) for (const watch of channel.watches) this.#settle(watch, 'session');
    this.#stopTimer();
    await this.#sub?.close();
  }

  #arm(watch: Watch, rev: number, fingerprint: string, recheck: Recheck, signal: AbortSignal | undefined): Promise<WatchEvent> {
    return new Promise<WatchEvent>((resolve) => {
      watch.resolve = resolve;
      if (watch.event !== undefined) {
        resolve(watch.event);
        return;
      }
      watch.rev = rev;
      watch.fingerprint = fingerprint;
      watch.recheck = recheck;
      if (watch.session.signal.aborted) return this.#settle(watch, 'session');
      if (signal?.aborted) return this.#settle(watch, 'cancelled');
      if (watch.seen > rev) return this.#settle(watch, 'changed');
      const onAbort = (): void => this.#settle(watch, 'cancelled');
      const onSession = (): void => this.#settle(watch, 'session');
      signal?.addEventListener('abort', onAbort, { once: true });
      watch.session.signal.addEventListener('abort', onSession, { once: true });
      watch.cleanups.push(() => signal?.removeEventListener('abort', onAbort));
      watch.cleanups.push(() => watch.session.signal.removeEventListener('abort', onSession));
      this.#startTimer();
    });
  }

  #settle(watch: Watch, event: WatchEvent): void {
    if (watch.settled) return;
    watch.settled = true;
    watch.event = event;
    for (const cleanup of watch.cleanups.splice(0)) cleanup();
    this.#forget(watch);
    watch.resolve?.(event);
  }

  #forget(watch: Watch): void {
    watch.settled = true;
    const channel = this.#channels.get(watch.channel);
    if (channel === undefined || !channel.watches.delete(watch)) return;
    if (channel.watches.size === 0) this.#unsubscribe(watch.channel, channel);
    if (this.size === 0) this.#stopTimer();
  }

  #channel(name: string): Channel {
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      channel = { watches: new Set(), subscribed: false, chain: Promise.resolve() };
      this.#channels.set(name, channel);
    }
    return channel;
  }

  /** Subscribes unless already subscribed; serialized per channel with unsubscribes. */
  async #subscribe(name: string, channel: Channel, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const step = channel.chain.then(async () => {
      if (channel.subscribed || channel.watches.size === 0) return;
      const sub = this.#subscriber();
      for (;;) {
        await sub.whenReady(deadline, signal);
        try {
          await sub.client.subscribe(name);
          channel.subscribed = true;
          return;
        } catch (error) {
          if (monotonicNow() >= deadline) throw error;
          // Not connected right now: whenReady waits for the reconnection.
        }
      }
    });
    channel.chain = step.catch(() => undefined);
    await step;
  }

  /** Unsubscribes once no watch needs the channel (a later watch may have come meanwhile). */
  #unsubscribe(name: string, channel: Channel): void {
    channel.chain = channel.chain.then(async () => {
      if (channel.watches.size > 0) return;
      if (channel.subscribed && this.#sub?.ready === true && !this.#closed) {
        try {
          await this.#sub.client.unsubscribe(name);
          channel.subscribed = false;
        } catch {
          // Disconnected: ioredis would resubscribe it; the next reconnection cleans it up.
        }
      }
      if (!channel.subscribed && channel.watches.size === 0 && this.#channels.get(name) === channel) this.#channels.delete(name);
    });
  }

  #subscriber(): Connection {
    if (this.#sub !== undefined) return this.#sub;
    const sub = this.#connect();
    this.#sub = sub;
    const client: Redis = sub.client;
    client.on('message', (channel: string, message: string) => this.#message(channel, message));
    let first = true;
    client.on('ready', () => {
      if (first) {
        first = false;
        return;
      }
      // Messages sent while we were away are lost: re-read every watch, and drop channels
      // ioredis resubscribed that no watch needs any more.
      void this.#recheckAll();
      for (const [name, channel] of this.#channels) if (channel.watches.size === 0) this.#unsubscribe(name, channel);
    });
    // Connects in the background; every subscribe waits for it within its own deadline.
    client.connect().catch(() => undefined);
    return sub;
  }

  #message(name: string, message: string): void {
    const change = parseChange(message);
    const channel = this.#channels.get(name);
    if (change === undefined || channel === undefined) return;
    for (const watch of [...channel.watches]) {
      if (watch.kind !== change.kind) continue;
      if (watch.rev === undefined) watch.seen = Math.max(watch.seen, change.rev);
      else if (change.rev > watch.rev) this.#settle(watch, 'changed');
    }
  }

  async #recheckAll(): Promise<void> {
    const armed: Watch[] = [];
    for (const channel of this.#channels.values()) for (const watch of channel.watches) if (watch.recheck !== undefined) armed.push(watch);
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
