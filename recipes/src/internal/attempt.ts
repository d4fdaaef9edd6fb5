/**
 * Per-attempt ids. Every sequential node a recipe creates carries one in its name
 * (docs/design.md R4): when a create's reply is lost, the driver finds the node it already
 * made by this id and adopts it, instead of making a second one that would queue behind the
 * first.
 */
import { randomBytes } from 'node:crypto';

// A random process id plus a counter: unique across processes and attempts, and cheap
// (a crypto call per attempt cost a sixth of an uncontended lock cycle).
const PROCESS_ID = randomBytes(5).toString('hex');
let counter = 0;

/** An id unique to this attempt: 10 random hex characters and a base-36 counter. */
export function attemptId(): string {
  counter += 1;
  return `${PROCESS_ID}${counter.toString(36)}`;
}
