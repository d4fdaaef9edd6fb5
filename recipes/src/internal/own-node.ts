/**
 * The owner discipline every node-creating recipe shares (docs/design.md R3, R5, R9): capture
 * the session once per operation, check that a node we created belongs to that session
 * (a create whose reply arrives after a session change made a node we must not bind to),
 * and remove our node after a refused or abandoned attempt — unless the session is dead,
 * in which case the server removes it and a delete would only fail.
 *
 * Two failures must not leave an ephemeral node of a live session behind: it would sit in a
 * queue ahead of every later waiter, a lock nobody holds and nobody can take (or a permit
 * never given back) until the process's session ends.
 * - A create whose outcome is unknown (the driver gave up on a lost reply: `CONNECTION_LOSS`,
 *   `UNAVAILABLE`, `TIMEOUT`) may have made the node. Like Curator's protected mode we find
 *   it by its per-attempt name prefix (docs/design.md R4) and delete it, then report the
 *   create's error.
 * - A clean-up delete that fails while the session lives is retried in the background, with
 *   backoff, until it succeeds or the session ends (Curator's guaranteed delete); the caller
 *   gets its own error (`TIMEOUT`, `ABORTED`...), not the delete's. The retry sleeps on the
 *   session's signal, which aborts when the coordinator closes, so no timer outlives it.
 */
import { CoordError, isCoordError, sleep, type Driver, type NodeRef, type Session } from '@coord/core';

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

/** A signal's reason or a caught value as a `CoordError` (anything else becomes `INTERNAL`). */
export function toError(reason: unknown): CoordError {
  if (isCoordError(reason)) return reason;
  return new CoordError('INTERNAL', String(reason), { cause: reason });
}

/** Throws the session's end reason if it has ended. */
export function throwIfEnded(session: Session): void {
  if (session.signal.aborted) throw toError(session.signal.reason);
}

/**
 * The driver's current session, captured once for an operation.
 * @throws CoordError the session's end reason (`SESSION_EXPIRED`, `CLOSED`) if it has ended.
 */
export function liveSession(driver: Driver): Session {
  const session = driver.session;
  throwIfEnded(session);
  return session;
}

/**
 * Rejects a node we just created that belongs to a session other than `session` (the
 * session changed during the request): deletes it, best effort, and throws. Callers test
 * `node.owner !== session.id` themselves, so the usual case costs no extra await.
 * @param during for the message: what the session ended during (`the request`, `the join`)
 * @throws CoordError `SESSION_EXPIRED`, always.
 */
export async function dropForeignNode(driver: Driver, node: NodeRef, session: Session, what: string, during = 'the request'): Promise<never> {
  await driver.delete(node.path, tokenOf(node)).catch(() => false);
  throw new CoordError('SESSION_EXPIRED', `${what}: session ${session.id} ended during ${during}`);
}

/**
 * Creates an ephemeral sequential node `<dir>/<prefix><seq>` owned by `session`, with the
 * listing that came with the create. `prefix` must carry a per-attempt id: if the create's
 * outcome is unknown, the node it may have made is found by it and deleted.
 * @throws CoordError `SESSION_EXPIRED` if the session changed during the create (the node is
 *   removed first), or the driver's error.
 */
export async function createOwnSequential(
  driver: Driver,
  dir: string,
  prefix: string,
  data: Uint8Array,
  session: Session,
  what: string,
): Promise<{ node: NodeRef; siblings: readonly NodeRef[] }> {
  let created: { node: NodeRef; siblings: readonly NodeRef[] };
  try {
    created = await driver.createSequential(dir, prefix, data, { ephemeral: true });
  } catch (error) {
    await cleanUpUnknownOutcome(error, session, () => removeAttempt(driver, dir, prefix));
    throw error;
  }
  // The session changed under us: the node belongs to a session we did not bind to.
  if (created.node.owner !== session.id) await dropForeignNode(driver, created.node, session, what);
  return created;
}

/**
 * Whether a failed write may have been applied all the same: the driver gave up on a lost
 * reply (`CONNECTION_LOSS`, `UNAVAILABLE`, `TIMEOUT`), or something unexpected failed.
 */
export function outcomeUnknown(error: unknown): boolean {
  return !isCoordError(error) || error.retryable || error.code === 'INTERNAL';
}

/**
 * After a create failed with `error`: if it may have made a node and the session lives (a
 * dead session took its ephemeral nodes along), runs `cleanUp`, which deletes what this
 * attempt may have made; a clean-up that fails is retried in the background. Never throws:
 * the caller reports the create's error.
 */
export async function cleanUpUnknownOutcome(error: unknown, session: Session, cleanUp: () => Promise<void>): Promise<void> {
  if (!outcomeUnknown(error)) return;
  await retryUntilDone(session, cleanUp);
}

/** Deletes the children of `dir` named by this attempt's prefix. */
async function removeAttempt(driver: Driver, dir: string, prefix: string): Promise<void> {
  const { nodes } = await driver.children(dir);
  await Promise.all(nodes.filter((node) => node.name.startsWith(prefix)).map((node) => driver.delete(node.path, tokenOf(node))));
}

/**
 * The conditional form of a delete of `node` when its token is known (a create's result, or
 * a sequential node's listing): only that node is deleted, never one re-created at its path,
 * and the driver may repeat the delete safely if its reply is lost.
 */
export function tokenOf(node: NodeRef): { token: bigint } | undefined {
  return node.token > 0n ? { token: node.token } : undefined;
}

/**
 * Removes our node after a refused, failed or abandoned attempt. Does nothing once the
 * session has ended (the node went, or goes, with it). Never throws: a delete that fails
 * while the session lives is retried in the background until it succeeds or the session
 * ends, so the caller can report its own error.
 */
export async function abandonOwnNode(driver: Driver, node: NodeRef, session: Session): Promise<void> {
  await retryUntilDone(session, async () => {
    await driver.delete(node.path, tokenOf(node));
  });
}

/**
 * Runs `step` once now, and if it fails while `session` lives, again in the background
 * (backoff from 100 ms doubling to 5 s) until it succeeds or the session ends. Resolves after
 * the first try; never rejects. Nothing runs once the session has ended.
 */
export async function retryUntilDone(session: Session, step: () => Promise<void>): Promise<void> {
  if (session.signal.aborted) return;
  try {
    await step();
  } catch {
    if (!session.signal.aborted) void retryInBackground(session, step);
  }
}

async function retryInBackground(session: Session, step: () => Promise<void>): Promise<void> {
  for (let wait = RETRY_FIRST_MS; !session.signal.aborted; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
    try {
      await sleep(wait, session.signal);
      await step();
      return;
    } catch {
      // The session ended (its nodes went with it; the loop stops) or still unreachable.
    }
  }
}
