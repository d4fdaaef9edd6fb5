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
import type { WatchEvent } from '@coord/core';
import { parseChange, type ChangeKind, type Layout } from './layout.js';
import type { Subscriber } from './subscriber.js';

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

/** Every watch of one driver, on one subscriber connection. */
export class WatchHub {
  readonly #layout: Layout;
  readonly #recheckMs: number;
  readonly #sub: Subscriber;
  readonly #channels = new Map<string, Set<Watch>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @param recheckMs how often every armed watch is re-read */
  constructor(layout: Layout, recheckMs: number, sub: Subscriber) {
    this.#layout = layout;
    this.#recheckMs = recheckMs;
    this.#sub = sub;
  }

  /** Armed watches (for tests). */
  get size(): number {
    let total = 0;
    for (const watches of this.#channels.values()) total += watches.size;
    return total;
  }

  /**
   * Subscribes to `path`'s channel for a watch of `kind`, before the read it goes with.
   * @throws CoordError if the subscription cannot be made by `deadline` (or `signal` aborts).
   */
  async prepare(path: string, kind: ChangeKind, session: Bound, deadline: number, signal?: AbortSignal): Promise<PendingWatch> {
    const name = this.#layout.channel(path);
    const watch = new Watch(name, kind, session);
    let watches = this.#channels.get(name);
    if (watches === undefined) this.#channels.set(name, (watches = new Set()));
    watches.add(watch);
    try {
      await this.#sub.subscribe(name, deadline, signal);
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
    for (const watches of this.#channels.values()) {
      for (const watch of [...watches]) if (watch.session === session) this.#settle(watch, 'session');
    }
  }

  /** Resolves every watch with `'session'` and stops re-checking. */
  close(): void {
    this.#closed = true;
    for (const watches of [...this.#channels.values()]) for (const watch of [...watches]) this.#settle(watch, 'session');
    this.#stopTimer();
  }

  /** The subscriber reconnected: messages sent meanwhile are lost, so re-read every watch. */
  reconnected(): void {
    void this.#recheckAll();
  }

  /** A pub/sub message: fires the watches it is news to. */
  message(name: string, message: string): void {
    const change = parseChange(message);
    const watches = this.#channels.get(name);
    if (change === undefined || watches === undefined) return;
    for (const watch of [...watches]) {
      if (watch.kind !== change.kind) continue;
      if (watch.rev === undefined) watch.seen = Math.max(watch.seen, change.rev);
      else if (change.rev > watch.rev) this.#settle(watch, 'changed');
    }
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
    const watches = this.#channels.get(watch.channel);
    if (watches === undefined || !watches.delete(watch)) return;
    if (watches.size === 0) {
      this.#channels.delete(watch.channel);
      this.#sub.unsubscribe(watch.channel);
    }
    if (this.#channels.size === 0) this.#stopTimer();
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
