/**
 * The owner discipline every node-creating recipe shares (DESIGN §4 rules 3 and 5): capture
 * the session once per operation, check that a node we created belongs to that session
 * (a create whose reply arrives after a session change made a node we must not bind to),
 * and remove our node after a refused or abandoned attempt — unless the session is dead,
 * in which case the server removes it and a delete would only fail.
 */
import { CoordError, isCoordError, type Driver, type NodeRef, type Session } from '@coord/core';

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
  await driver.delete(node.path).catch(() => false);
  throw new CoordError('SESSION_EXPIRED', `${what}: session ${session.id} ended during ${during}`);
}

/**
 * Creates an ephemeral sequential node `<dir>/<prefix><seq>` owned by `session`, with the
 * listing that came with the create.
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
  const created = await driver.createSequential(dir, prefix, data, { ephemeral: true });
  // The session changed under us: the node belongs to a session we did not bind to.
  if (created.node.owner !== session.id) await dropForeignNode(driver, created.node, session, what);
  return created;
}

/**
 * Removes our node after a refused, failed or abandoned attempt. Does nothing once the
 * session has ended (the node went, or goes, with it); a delete that fails because the
 * session ended meanwhile is not an error.
 * @throws the driver's error if the delete failed while the session is alive.
 */
export async function abandonOwnNode(driver: Driver, node: NodeRef, session: Session): Promise<void> {
  if (session.signal.aborted) return;
  try {
    await driver.delete(node.path);
  } catch (error) {
    if (!session.signal.aborted) throw error;
  }
}
