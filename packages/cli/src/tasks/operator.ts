/**
 * The operator's view of the master/worker story: one more session that watches the group
 * and the election, as a dashboard would, and checks what a user relies on — leaders come
 * one at a time with ever larger tokens, and a crashed engine leaves the group by itself.
 */
import type { Coordinator } from 'coord';
import type { Log } from '../log.js';
import { PATHS } from './engine.js';

/** What the operator saw. */
export interface Observations {
  /** Every master, in the order observed. */
  readonly masters: Array<{ readonly name: string; readonly token: bigint }>;
  /** Group events seen, e.g. `join engine-1`. */
  readonly groupEvents: string[];
  readonly violations: string[];
}

/** Watches the group and the election until `stop` aborts; never rejects. */
export async function watchOperations(operator: Coordinator, log: Log, stop: AbortSignal): Promise<Observations> {
  const seen: Observations = { masters: [], groupEvents: [], violations: [] };
  await Promise.all([watchGroup(operator, log, stop, seen), watchElection(operator, log, stop, seen)]);
  return seen;
}

async function watchGroup(operator: Coordinator, log: Log, stop: AbortSignal, seen: Observations): Promise<void> {
  try {
    for await (const event of operator.group(PATHS.group).watch({ signal: stop })) {
      seen.groupEvents.push(`${event.type} ${event.member}`);
      log(`operator: group ${PATHS.group}: ${event.type} ${event.member}`);
    }
  } catch (error) {
    if (!stop.aborted) seen.violations.push(`group watch failed: ${String(error)}`);
  }
}

async function watchElection(operator: Coordinator, log: Log, stop: AbortSignal, seen: Observations): Promise<void> {
  try {
    for await (const leader of operator.election(PATHS.election).observe({ signal: stop })) {
      if (leader === undefined) {
        log('operator: no master right now');
        continue;
      }
      const name = String(leader.value);
      const previous = seen.masters.at(-1);
      if (previous !== undefined && leader.token <= previous.token) {
        seen.violations.push(`master ${name} has token ${leader.token}, not above ${previous.name}'s ${previous.token}`);
      }
      seen.masters.push({ name, token: leader.token });
      log(`operator: the master is now ${name} (token ${leader.token})`);
    }
  } catch (error) {
    if (!stop.aborted) seen.violations.push(`election observer failed: ${String(error)}`);
  }
}
