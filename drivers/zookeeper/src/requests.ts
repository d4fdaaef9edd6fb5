/**
 * Request plumbing shared by the driver's operations: one call's context (its connection,
 * i.e. its session, and its signal), sending with an expected set of return codes, and the
 * retry policy for connection loss (p-retry, bounded by the call's signal: its deadline,
 * the caller's abort and the session's end).
 */
import { CoordError, callSignal, isCoordError, type LinkedSignal } from '@coord/core';
import pRetry from 'p-retry';
import { Code, type Completion, type NativeClient, type NativeWatcher, type Stat } from './native.js';
import type { Connection, Reply } from './connection.js';

/** One driver call in progress. */
export interface Call {
  /** The connection (and so the session) the call is bound to. */
  readonly conn: Connection;
  /**
   * Aborts on the call's deadline, the caller's signal or the session's end: it bounds
   * waiting for a connection and the retries.
   */
  readonly signal: AbortSignal;
  /** Deadline of each request once sent, ms (the URL's `operationTimeout`). */
  readonly timeout: number;
  /** For messages: `zookeeper <redacted url>: create /a`. */
  readonly label: string;
  /** Maps a return code to this call's error. */
  fail(rc: number): CoordError;
}

/**
 * Sends one request once connected and returns the reply if its code is one of `accept`;
 * any other code is thrown as the call's error.
 */
export async function expect<A extends unknown[]>(
  call: Call,
  accept: readonly number[],
  start: (zk: NativeClient, done: Completion<A>) => number,
): Promise<Reply<A> & { result: A }> {
  await call.conn.whenConnected(call.signal, call.label);
  using deadline = callSignal({ timeout: call.timeout }, call.label, call.signal);
  const reply = await call.conn.send(deadline.signal, start);
  if (accept !== ANY && !accept.includes(reply.rc)) throw call.fail(reply.rc);
  return reply as Reply<A> & { result: A };
}

/**
 * The deadline of one whole driver call (docs/design.md D10): every wait in it — for a
 * reconnect, a fresh session, a retry's backoff, a reply — ends when it aborts. Its reason
 * says what the call was stuck on when time ran out: `UNAVAILABLE` if the driver had no
 * connection then (nothing may have been sent, and the ensemble is unreachable), `TIMEOUT`
 * if it was connected and waiting for a reply.
 * @param connected whether the driver is connected right now (asked when the deadline passes)
 */
export function operationDeadline(ms: number, label: string, connected: () => boolean): LinkedSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      connected()
        ? new CoordError('TIMEOUT', `${label}: no reply within ${ms} ms`)
        : new CoordError('UNAVAILABLE', `${label}: not connected to the ensemble within ${ms} ms`),
    );
  }, ms);
  const dispose = (): void => clearTimeout(timer);
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

/** Whether an error is a connection loss that a retry may overcome while the session lives. */
export function isConnectionLoss(error: unknown): boolean {
  return isCoordError(error, 'CONNECTION_LOSS');
}

/**
 * Runs `attempt` until it succeeds, retrying on connection loss while the call's session
 * lives, with a short exponential backoff (the C client reconnects on its own; we only wait
 * for it) — and on a request's timeout too with `timeouts` (for idempotent writes). Ends
 * with the signal's reason when the caller gives up or the session ends.
 */
export function withRetries<T>(call: Call, attempt: () => Promise<T>, timeouts = false): Promise<T> {
  return pRetry(attempt, {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: 20,
    maxTimeout: 500,
    factor: 2,
    signal: call.signal,
    shouldRetry: ({ error }) => (isConnectionLoss(error) || (timeouts && isCoordError(error, 'TIMEOUT'))) && !call.conn.session.ended,
  });
}

/** The codes of a request that may find the node missing. */
export const FOUND_OR_MISSING: readonly number[] = [Code.OK, Code.NO_NODE];

/** Marks every code accepted: the caller branches on it. */
const ANY: readonly number[] = [];

/** `exists`: the node's stat, or undefined if it is missing (with `watcher`, also a watch either way). */
export async function statOf(call: Call, path: string, watcher?: NativeWatcher): Promise<Stat | undefined> {
  const { rc, result } = await expect<[Stat]>(call, FOUND_OR_MISSING, (zk, done) =>
    watcher === undefined ? zk.a_exists(path, false, done) : zk.aw_exists(path, watcher, done),
  );
  return rc === Code.OK ? result[0] : undefined;
}

/** `getData`: stat and data, or undefined if the node is missing (a watch is set only on an existing node). */
export async function dataOf(call: Call, path: string, watcher?: NativeWatcher): Promise<{ stat: Stat; data: Buffer | null } | undefined> {
  const { rc, result } = await expect<[Stat, Buffer | null]>(call, FOUND_OR_MISSING, (zk, done) =>
    watcher === undefined ? zk.a_get(path, false, done) : zk.aw_get(path, watcher, done),
  );
  return rc === Code.OK ? { stat: result[0], data: result[1] } : undefined;
}

/** `getChildren2`: the child names with the directory's stat, or undefined if it is missing. */
export async function childrenOf(call: Call, path: string, watcher?: NativeWatcher): Promise<{ names: string[]; stat: Stat } | undefined> {
  const { rc, result } = await expect<[string[], Stat]>(call, FOUND_OR_MISSING, (zk, done) =>
    watcher === undefined ? zk.a_get_children2(path, false, done) : zk.aw_get_children2(path, watcher, done),
  );
  return rc === Code.OK ? { names: result[0], stat: result[1] } : undefined;
}

/** `create`: the return code and, on success, the path the server gave the node. */
export async function createRaw(call: Call, path: string, data: Buffer, flags: number): Promise<{ rc: number; path: string | undefined }> {
  const { rc, result } = await expect<[string]>(call, ANY, (zk, done) => zk.a_create(path, data, flags, done));
  return { rc, path: rc === Code.OK ? result[0] : undefined };
}

/** `setData`: the new stat. */
export async function setData(call: Call, path: string, data: Buffer, version: number): Promise<Stat> {
  const { result } = await expect<[Stat]>(call, [Code.OK], (zk, done) => zk.a_set(path, data, version, done));
  return result[0];
}

/** `delete`: true if deleted, false if the node was missing. */
export async function deleteNode(call: Call, path: string, version: number): Promise<boolean> {
  const { rc } = await expect<[]>(call, FOUND_OR_MISSING, (zk, done) => zk.a_delete_(path, version, done));
  return rc === Code.OK;
}

/**
 * `sync`: makes the connected server catch up with the leader before the requests sent after
 * it on this connection are answered. A ZooKeeper member serves reads from its own copy,
 * which may lag writes another client made through another member; sent together with a
 * read (one round trip), it makes the read see every write completed before it.
 */
export async function syncWith(call: Call, path: string): Promise<void> {
  await expect<[string]>(call, FOUND_OR_MISSING, (zk, done) => zk.a_sync(path, done));
}
