import { describe, expect, it } from '@jest/globals';
import { Namespace, checkSequentialPrefix, listing, sequenceOf, sequentialToken, splitToken } from '../src/nodes.js';
import type { Stat } from '../src/native.js';

const stat = (czxid: number): Stat => ({
  czxid,
  mzxid: czxid,
  pzxid: czxid,
  version: 0,
  cversion: 0,
  numChildren: 0,
  dataLength: 0,
  ephemeralOwner: '0',
});

describe('Namespace', () => {
  it('maps paths under a namespace and back', () => {
    const ns = new Namespace('/app');
    expect(ns.root).toBe('/app');
    expect(ns.toServer('/')).toBe('/app');
    expect(ns.toServer('/a/b')).toBe('/app/a/b');
    expect(ns.fromServer('/app/a/b')).toBe('/a/b');
    expect(ns.fromServer('/app')).toBe('/');
  });

  it('is the identity without a namespace', () => {
    const ns = new Namespace('');
    expect(ns.root).toBe('/');
    expect(ns.toServer('/a')).toBe('/a');
    expect(ns.fromServer('/a')).toBe('/a');
  });
});

describe('sequences and tokens', () => {
  it('reads the 10-digit suffix plus one, and 0 for plain names', () => {
    expect(sequenceOf('n-0000000000')).toBe(1n);
    expect(sequenceOf('lock-abc-0000000041')).toBe(42n);
    expect(sequenceOf('member-7')).toBe(0n);
    expect(sequenceOf('plain')).toBe(0n);
    expect(sequenceOf('0000000007')).toBe(8n);
    // A number longer than a sequence is part of a plain name (a double barrier's marker).
    expect(sequenceOf('ready-3680786972709')).toBe(0n);
  });

  it('rejects a sequential prefix ending in a digit', () => {
    expect(checkSequentialPrefix('n-')).toBeUndefined();
    expect(checkSequentialPrefix('')).toBeUndefined();
    expect(checkSequentialPrefix('n1')).toMatch(/digit/);
  });

  it('orders tokens by directory incarnation first, then sequence', () => {
    const early = sequentialToken(stat(0x1_0000_0005), 2_000_000_000n);
    const later = sequentialToken(stat(0x1_0000_0009), 1n);
    expect(later > early).toBe(true);
    expect(splitToken(later)).toEqual({ parentCzxid: 0x1_0000_0009n, seq: 1n });
  });

  it('lists sequential children by seq with their tokens, then plain ones by name', () => {
    const parent = stat(77);
    const nodes = listing('/q', ['z', 'b-0000000002', 'a', 'a-0000000010', 'c-0000000000'], parent);
    expect(nodes.map((n) => n.name)).toEqual(['c-0000000000', 'b-0000000002', 'a-0000000010', 'a', 'z']);
    expect(nodes.map((n) => n.seq)).toEqual([1n, 3n, 11n, 0n, 0n]);
    expect(nodes[0]?.token).toBe(sequentialToken(parent, 1n));
    expect(nodes[3]).toEqual({ path: '/q/a', name: 'a', seq: 0n, token: 0n });
    expect(nodes[1]?.path).toBe('/q/b-0000000002');
  });
});
