import { describe, expect, it } from '@jest/globals';
import { thrown } from './helpers.js';
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

  it('a throwing listener neither stops the others nor the emitter; its error is a warning, not an exception', () => {
    const set = new ListenerSet<[]>('test listener');
    const seen: string[] = [];
    set.add(() => {
      throw new Error('listener bug');
    });
    set.add(() => seen.push('second'));
    const warnings: { message: string; type: unknown }[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((message: string, options?: { type?: string }) => {
      warnings.push({ message, type: options?.type });
    }) as typeof process.emitWarning;
    try {
      expect(() => set.emit()).not.toThrow();
    } finally {
      process.emitWarning = original;
    }
    expect(seen).toEqual(['second']);
    expect(warnings).toEqual([{ message: 'test listener threw: Error: listener bug', type: 'CoordListenerWarning' }]);
  });

  it('refuses a listener that is not a function with INVALID_ARGUMENT', () => {
    const set = new ListenerSet<[]>('test listener');
    expect(thrown(() => set.add(42 as unknown as () => void)).code).toBe('INVALID_ARGUMENT');
  });
});
