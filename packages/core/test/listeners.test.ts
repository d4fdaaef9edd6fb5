import { describe, expect, it } from '@jest/globals';
import { ListenerSet } from '../src/listeners.js';

describe('ListenerSet', () => {
  it('calls listeners in order and stops calling one once removed', () => {
    const set = new ListenerSet<[number]>();
    const seen: string[] = [];
    const removeA = set.add((n) => seen.push(`a${n}`));
    set.add((n) => seen.push(`b${n}`));
    set.emit(1);
    removeA();
    set.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
  });

  it('a throwing listener neither stops the others nor the emitter; its error surfaces on a microtask', async () => {
    const set = new ListenerSet<[]>();
    const boom = new Error('listener bug');
    const seen: string[] = [];
    set.add(() => {
      throw boom;
    });
    set.add(() => seen.push('second'));
    const surfaced: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (task: () => void): void => {
      try {
        task();
      } catch (error) {
        surfaced.push(error);
      }
    };
    try {
      expect(() => set.emit()).not.toThrow();
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(seen).toEqual(['second']);
    expect(surfaced).toEqual([boom]);
  });
});
