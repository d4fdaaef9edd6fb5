/**
 * Claiming one queue item: the step that makes a consumer the item's only holder. The claim
 * is an ephemeral node `<claims>/<item name>`; its create fails `NODE_EXISTS` while anyone
 * holds the item, and it goes with its session. After the create the item is read back,
 * because it may have been acked between the caller's listing and the claim (an acker
 * deletes the item before its claim): a consumer never gets an item it did not claim, nor
 * one that is gone.
 */
import { CoordError, isCoordError, joinPath, type Driver, type NodeRef, type Session } from '@coord/core';
import { attemptId } from './attempt.js';
import { cleanUpUnknownOutcome, retryUntilDone, throwIfEnded } from './own-node.js';
import type { Item } from './queue-items.js';

/** A successful claim: the claim node and the item's bytes. */
export interface Claimed {
  readonly claim: NodeRef;
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Claims `item` for `session`: undefined if someone else holds it or it was acked meanwhile.
 * @throws CoordError `SESSION_EXPIRED`/`CLOSED` if the session ended during the claim (the
 *   claim is removed first), or a backend error.
 */
export async function claimItem(driver: Driver, claims: string, item: Item, session: Session, what: string): Promise<Claimed | undefined> {
  const path = joinPath(claims, item.node.name);
  const attempt = encoder.encode(attemptId());
  let claim: NodeRef;
  try {
    claim = await driver.create(path, attempt, { ephemeral: true });
  } catch (error) {
    if (isCoordError(error, 'NODE_EXISTS')) {
      await retryUntilDone(session, () => dropOwnAttempt(driver, path, attempt, session));
      return undefined;
    }
    // Outcome unknown (the driver gave up on a lost reply): the claim may exist, and left
    // alone it would keep the message from everyone while our session lives.
    await cleanUpUnknownOutcome(error, session, () => dropOwnAttempt(driver, path, attempt, session));
    throw error;
  }
  try {
    if (claim.owner !== session.id) throw new CoordError('SESSION_EXPIRED', `${what}: session ${session.id} ended during the claim`);
    const { node } = await driver.get(item.node.path);
    throwIfEnded(session);
    if (node !== undefined) return { claim, data: node.data };
  } catch (error) {
    await driver.delete(path, { token: claim.token }).catch(() => false);
    throw error;
  }
  await driver.delete(path, { token: claim.token }); // acked between the listing and the claim
  return undefined;
}

/**
 * A claim's name is fixed by its item, so it cannot carry a per-attempt id (docs/design.md
 * R4); its data does. `NODE_EXISTS` may answer the retry of a create whose first reply was
 * lost: then the claim is this very attempt's, and left alone it would keep the message from
 * everyone until the session ends. It is dropped (the item is simply free again); so is the
 * claim a create of unknown outcome may have made. A claim of
 * another take of the same session has other data and is left alone: a claim is never
 * adopted for being our session's. Costs one read, and only when two takes race for an item.
 * A failure to drop it is retried in the background while the session lives.
 */
async function dropOwnAttempt(driver: Driver, path: string, attempt: Uint8Array, session: Session): Promise<void> {
  const { node } = await driver.get(path);
  if (node === undefined || node.owner !== session.id || !sameBytes(node.data, attempt)) return;
  // Conditional: BAD_VERSION means it changed since our read, so it is not our attempt's.
  await driver.delete(path, { version: node.version }).catch((error: unknown) => {
    if (!isCoordError(error, 'BAD_VERSION')) throw error;
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
