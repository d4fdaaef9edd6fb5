/**
 * The driver's second connection: pub/sub for watches, and the redirect target of the
 * command connection's client-side tracking (`CLIENT TRACKING … REDIRECT <id> BCAST`), which
 * tells us the moment anyone else deletes our session key — so a session deleted on the
 * server aborts its signal at once, not at the next heartbeat.
 *
 * Subscriptions are ours to manage, not ioredis's (`autoResubscribe: false`): after a
 * reconnection the connection asks its new client id first (a command a subscribed
 * connection may not send), then subscribes again to exactly the channels still wanted,
 * and tells its listeners (watches re-read what they watch: messages sent meanwhile are lost).
 */
import type { Redis } from 'ioredis';
import { CoordError, monotonicNow } from '@coord/core';
import type { Connection } from './connection.js';

/** The channel on which Redis delivers tracking invalidations (RESP2 redirect mode). */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** What the subscriber reports. */
export interface SubscriberEvents {
  /** A pub/sub message on a channel we asked for. */
  onMessage(channel: string, message: string): void;
  /** Keys someone else modified (deleted, expired); `undefined` = everything (a flush). */
  onInvalidate(keys: readonly string[] | undefined): void;
  /** Subscribed again after (re)connecting, as client `id`; `first` on the first connection. */
  onReady(id: number, first: boolean): void;
}

/** One subscriber connection, shared by every watch of a driver. */
export class Subscriber {
  readonly #conn: Connection;
  readonly #events: SubscriberEvents;
  /** Channels wanted → whether the current connection is subscribed to each. */
  readonly #wanted = new Map<string, boolean>();
  #id: number | undefined;
  #connections = 0;
  #settingUp: Promise<void> | undefined;

  constructor(conn: Connection, events: SubscriberEvents) {
    this.#conn = conn;
    this.#events = events;
    const client: Redis = conn.client;
    client.on('ready', () => void this.#setUp());
    client.on('close', () => {
      this.#id = undefined;
      for (const channel of this.#wanted.keys()) this.#wanted.set(channel, false);
    });
    client.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => this.#message(channel.toString(), message));
  }

  /** The client id of the live connection, once set up. */
  get id(): number | undefined {
    return this.#id;
  }

  /** Connects (in the background; reconnects forever until {@link close}). */
  start(): void {
    this.#conn.client.connect().catch(() => undefined);
  }

  /**
   * Waits until the connection is up and subscribed (its client id known).
   * @throws CoordError `TIMEOUT`/`UNAVAILABLE` at `deadline`; `CLOSED`.
   */
  async ready(deadline: number): Promise<number> {
    for (;;) {
      await this.#conn.whenReady(deadline);
      await this.#settingUp;
      if (this.#id !== undefined) return this.#id;
      if (monotonicNow() >= deadline) throw new CoordError('TIMEOUT', `${this.#conn.label}: subscriber not ready within the deadline`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Subscribes to `channel` (no-op if subscribed); resolves once the server confirmed it.
   * @throws CoordError `TIMEOUT`/`UNAVAILABLE` if not connected by `deadline`; `CLOSED`.
   */
  async subscribe(channel: string, deadline: number, signal?: AbortSignal): Promise<void> {
    if (!this.#wanted.has(channel)) this.#wanted.set(channel, false);
    for (;;) {
      if (this.#wanted.get(channel) === true) return;
      if (!this.#wanted.has(channel)) throw new CoordError('ABORTED', `${this.#conn.label}: subscription dropped`);
      await this.#conn.whenReady(deadline, signal);
      await this.#settingUp;
      if (this.#wanted.get(channel) === true) return;
      try {
        await this.#conn.client.subscribe(channel);
        if (this.#wanted.has(channel)) this.#wanted.set(channel, true);
        return;
      } catch (error) {
        if (monotonicNow() >= deadline) throw error;
        // Not connected at this instant: wait for the reconnection, which resubscribes.
      }
    }
  }

  /** Drops `channel`; the server stops sending it (best effort: a reconnection drops it anyway). */
  unsubscribe(channel: string): void {
    const subscribed = this.#wanted.get(channel);
    this.#wanted.delete(channel);
    if (subscribed === true && this.#conn.ready) this.#conn.client.unsubscribe(channel).catch(() => undefined);
  }

  /** Closes the connection (every subscription goes with it). */
  close(): Promise<void> {
    this.#wanted.clear();
    return this.#conn.close();
  }

  async #setUp(): Promise<void> {
    const setUp = (async (): Promise<void> => {
      const client = this.#conn.client;
      try {
        const id = Number(await client.call('CLIENT', 'ID'));
        const channels = [INVALIDATE_CHANNEL, ...this.#wanted.keys()];
        await client.subscribe(...channels);
        for (const channel of channels) if (this.#wanted.has(channel)) this.#wanted.set(channel, true);
        this.#id = id;
        this.#connections += 1;
        this.#events.onReady(id, this.#connections === 1);
      } catch {
        // The connection dropped while setting up; the next 'ready' starts over.
      }
    })();
    this.#settingUp = setUp;
    await setUp;
  }

  #message(channel: string, message: Buffer | Buffer[] | null): void {
    if (channel === INVALIDATE_CHANNEL) {
      this.#events.onInvalidate(Array.isArray(message) ? message.map((key) => key.toString()) : undefined);
      return;
    }
    if (this.#wanted.has(channel) && Buffer.isBuffer(message)) this.#events.onMessage(channel, message.toString());
  }
}
