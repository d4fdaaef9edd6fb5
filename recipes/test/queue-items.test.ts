import { describe, expect, it } from '@jest/globals';
import { isCoordError, type NodeRef } from '@coord/core';
import {
  MAX_PRIORITY,
  MIN_PRIORITY,
  checkPriority,
  deliveryOrder,
  itemPrefix,
  parsePriority,
  unclaimed,
} from '../src/internal/queue-items.js';

/** The code of the CoordError `fn` throws. */
function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  throw new Error('nothing was thrown');
}

let seq = 0n;
const item = (priority: number): NodeRef => {
  seq += 1n;
  const name = `${itemPrefix(priority, 'abc123')}${seq.toString().padStart(10, '0')}`;
  return { path: `/q/items/${name}`, name, seq, token: seq };
};

describe('queue item names', () => {
  it('encode the priority so that it parses back exactly, over the whole range', () => {
    for (const priority of [MIN_PRIORITY, MIN_PRIORITY + 1, -1, 0, 1, 7, MAX_PRIORITY - 1, MAX_PRIORITY]) {
      expect(parsePriority(item(priority).name)).toBe(priority);
    }
  });

  it('sort by priority as plain strings too (fixed width, offset)', () => {
    const names = [MAX_PRIORITY, 0, -5, MIN_PRIORITY, 3].map((priority) => itemPrefix(priority, 'x'));
    expect([...names].sort().map((name) => parsePriority(`${name}1`))).toEqual([MIN_PRIORITY, -5, 0, 3, MAX_PRIORITY]);
  });

  it('ignore names that are not items', () => {
    expect(parsePriority('lock-abc-0000000001')).toBeUndefined();
    expect(parsePriority('msg-12-abc-1')).toBeUndefined();
    expect(parsePriority('msg--000000001-abc-1')).toBeUndefined();
  });

  it('checkPriority accepts integers in range only', () => {
    expect(checkPriority(-3, 'q')).toBe(-3);
    for (const bad of [0.5, Number.NaN, MAX_PRIORITY + 1, MIN_PRIORITY - 1, '0', undefined, 10n]) {
      expect(thrownCode(() => checkPriority(bad, 'queue /q'))).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('delivery order', () => {
  it('is by priority, then by sequence, skipping foreign and plain nodes', () => {
    const a = item(5);
    const b = item(0);
    const c = item(5);
    const d = item(-1);
    const foreign: NodeRef = { path: '/q/items/other', name: 'other', seq: 99n, token: 99n };
    const plain: NodeRef = { path: '/q/items/msg-2147483648-x-', name: 'msg-2147483648-x-', seq: 0n, token: 0n };
    const order = deliveryOrder([a, b, c, d, foreign, plain]).map((entry) => entry.node);
    expect(order).toEqual([d, b, a, c]);
  });

  it('unclaimed() drops the items that have a claim of the same name', () => {
    const items = deliveryOrder([item(0), item(0), item(0)]);
    const claim: NodeRef = { path: `/q/claims/${items[1]!.node.name}`, name: items[1]!.node.name, seq: 0n, token: 0n };
    expect(unclaimed(items, [claim]).map((entry) => entry.node)).toEqual([items[0]!.node, items[2]!.node]);
    expect(unclaimed(items, [])).toEqual(items);
  });
});
