/**
 * How the queue names its items and picks the next one. An item's name carries its priority
 * (so ordering needs no data read) and a per-attempt id (docs/design.md R4); the backend
 * appends the sequence that orders items within a priority:
 *
 *   `msg-<priority + 2^31, 10 digits>-<attempt id>-<sequence>`
 *
 * The offset keeps the field unsigned and fixed-width, so names also sort by priority as
 * plain strings (handy when browsing the tree), and the field parses back exactly.
 */
import { CoordError, type NodeRef } from '@coord/core';

/** Lowest priority value accepted (delivered first). */
export const MIN_PRIORITY = -(2 ** 31);
/** Highest priority value accepted (delivered last). */
export const MAX_PRIORITY = 2 ** 31 - 1;

const OFFSET = 2 ** 31;
const ITEM_NAME = /^msg-(\d{10})-[0-9a-z]+-/;

/** An item of the queue, as listed: its node and its priority. */
export interface Item {
  readonly node: NodeRef;
  readonly priority: number;
}

/**
 * Checks a priority: an integer from {@link MIN_PRIORITY} to {@link MAX_PRIORITY}.
 * @throws CoordError `INVALID_ARGUMENT` otherwise.
 */
export function checkPriority(priority: unknown, what: string): number {
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new CoordError(
      'INVALID_ARGUMENT',
      `${what}: priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got ${String(priority)}`,
    );
  }
  return priority;
}

/** The name prefix of a new item (the backend appends the sequence). */
export function itemPrefix(priority: number, attempt: string): string {
  return `msg-${(priority + OFFSET).toString().padStart(10, '0')}-${attempt}-`;
}

/** The priority encoded in an item name, or undefined if the name is not an item's. */
export function parsePriority(name: string): number | undefined {
  const match = ITEM_NAME.exec(name);
  return match === null ? undefined : Number(match[1]) - OFFSET;
}

/**
 * The items of a directory listing in delivery order: by priority, then by sequence (the
 * listing's order; `Array.prototype.sort` is stable). Nodes that are not items are ignored.
 */
export function deliveryOrder(nodes: readonly NodeRef[]): Item[] {
  const items: Item[] = [];
  for (const node of nodes) {
    const priority = parsePriority(node.name);
    if (priority !== undefined && node.seq > 0n) items.push({ node, priority });
  }
  return items.sort((a, b) => a.priority - b.priority);
}

/** The items nobody has claimed, in delivery order. */
export function unclaimed(items: readonly Item[], claims: readonly NodeRef[]): Item[] {
  if (claims.length === 0) return [...items];
  const claimed = new Set(claims.map((claim) => claim.name));
  return items.filter((item) => !claimed.has(item.node.name));
}
