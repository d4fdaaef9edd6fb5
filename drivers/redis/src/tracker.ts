/**
 * The tracking connection: a small RESP2 connection subscribed to `__redis__:invalidate`, the
 * redirect target of the command connection's client-side tracking
 * (`CLIENT TRACKING on REDIRECT <id> BCAST PREFIX <session key> NOLOOP`). Redis then tells it
 * the moment anyone else deletes our session key (or it expires, or the database is flushed),
 * so a session deleted on the server aborts its signal at once, not at the next heartbeat.
 * RESP2 because only there does a redirect target get invalidations as pub/sub messages.
 */
import type { Redis } from 'ioredis';
import { CoordError, monotonicNow, sleep } from '@coord/core';
import type { Connection } from './connection.js';

/** The channel on which Redis delivers tracking invalidations (RESP2 redirect mode). */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** What the tracker reports. */
export interface TrackerEvents {
  /** Keys someone else modified (deleted, expired); `undefined` means everything (a flush). */
  onInvalidate(keys: readonly string[] | undefined): void;
  /** Subscribed (again), as client `id`: tracking must now redirect there. */
  onReady(id: number): void;
}

/** One tracking connection per driver. */
export class Tracker {
  readonly #conn: Connection;
  readonly #events: TrackerEvents;
  #id: number | undefined;
  #refused: Error | undefined;
  #settingUp: Promise<void> = Promise.resolve();

  readonly #timeoutMs: number;

  /** @param timeoutMs how long setting up a (re)connection may take before it is dropped */
  constructor(conn: Connection, events: TrackerEvents, timeoutMs: number) {
    this.#conn = conn;
    this.#events = events;
    this.#timeoutMs = timeoutMs;
    const client: Redis = conn.client;
    client.on('ready', () => {
      this.#settingUp = this.#setUp();
    });
    client.on('close', () => {
      this.#id = undefined;
    });
    client.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
      if (channel.toString() !== INVALIDATE_CHANNEL) return;
      this.#events.onInvalidate(Array.isArray(message) ? message.map((key) => key.toString()) : undefined);
    });
  }

  /** Connects (in the background; reconnects until {@link close}). */
  start(): void {
    this.#conn.client.connect().catch(() => undefined);
  }

  /**
   * The client id to redirect tracking to, once connected and subscribed.
   * @throws CoordError `TIMEOUT`/`UNAVAILABLE` at `deadline`; `CLOSED`; `UNSUPPORTED` if the
   *   server refused a command (an ACL without `CLIENT`, or a proxy).
   */
  async ready(deadline: number): Promise<number> {
    for (;;) {
      await this.#conn.whenReady(deadline);
      await this.#within(this.#settingUp, deadline);
      if (this.#id !== undefined) return this.#id;
      if (this.#refused !== undefined) {
        throw new CoordError('UNSUPPORTED', `${this.#conn.label}: no client-side tracking (${this.#refused.message})`);
      }
      if (monotonicNow() >= deadline) throw new CoordError('TIMEOUT', `${this.#conn.label}: tracking connection not ready in time`);
      await sleep(10, this.#conn.closedSignal);
    }
  }

  /** Waits for `promise` until `deadline` at most (a silent server would hold it forever). */
  async #within(promise: Promise<void>, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - monotonicNow()));
    });
    try {
      await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#conn.close();
  }

  async #setUp(): Promise<void> {
    const client = this.#conn.client;
    const silent = setTimeout(() => this.#conn.recycle(), this.#timeoutMs); // then 'ready' starts over
    try {
      // The id first: a RESP2 connection that subscribed may send no other command.
      const id = Number(await client.call('CLIENT', 'ID'));
      await client.subscribe(INVALIDATE_CHANNEL);
      this.#id = id;
      this.#events.onReady(id);
    } catch (error) {
      // A refusal (ReplyError) will not change; a dropped connection starts over on 'ready'.
      if ((error as Error | undefined)?.name === 'ReplyError') this.#refused = error as Error;
    } finally {
      clearTimeout(silent);
    }
  }
}
