import { describe, expect, it } from '@jest/globals';
import { isCoordError, type NodeRef } from '@coord/core';
import {
  encodeLast,
  firstRound,
  inRound,
  markerPath,
  memberPrefix,
  membersOf,
  newestMarkerAtOrBelow,
  otherCountMember,
  parseLast,
} from '../src/internal/double-barrier-rounds.js';

/** A member node of a barrier of `count`, with sequence `seq` and token `token`. */
const member = (count: number, seq: bigint, token: bigint = seq * 10n): NodeRef => {
  const name = `${memberPrefix(count, 'att1')}${seq.toString().padStart(10, '0')}`;
  return { path: `/b/${name}`, name, seq, token };
};

/** A persistent marker: a plain node, listed after the sequential ones. */
const marker = (first: bigint): NodeRef => {
  const path = markerPath('/b', first);
  return { path, name: path.slice('/b/'.length), seq: 0n, token: 0n };
};

describe('double barrier rounds', () => {
  it('names members with their count and the attempt', () => {
    expect(memberPrefix(3, 'xyz')).toBe('m-3-xyz-');
  });

  it('keeps only sequential members of the same count, in listing order', () => {
    const nodes = [member(3, 1n), member(4, 2n), member(3, 3n), marker(10n)];
    expect(membersOf(nodes, 3).map((node) => node.seq)).toEqual([1n, 3n]);
    expect(membersOf(nodes, 4).map((node) => node.seq)).toEqual([2n]);
    expect(membersOf([marker(10n)], 3)).toEqual([]);
  });

  it('finds a member that uses another count, ignoring markers and foreign names', () => {
    const foreign: NodeRef = { path: '/b/other-1', name: 'other-1', seq: 5n, token: 50n };
    expect(otherCountMember([member(3, 1n), marker(10n), foreign], 3)).toBeUndefined();
    expect(otherCountMember([member(3, 1n), member(2, 2n)], 3)?.seq).toBe(2n);
    // A count whose digits are a prefix of ours is still another count.
    expect(otherCountMember([member(30, 1n)], 3)?.seq).toBe(1n);
  });

  it('forms a round from the first `count` candidates only', () => {
    const candidates = [member(3, 1n), member(3, 2n), member(3, 3n), member(3, 4n)];
    expect(firstRound(candidates.slice(0, 2), 3)).toBeUndefined();
    expect(firstRound(candidates, 3)).toEqual({ first: 10n, last: 30n });
    expect(firstRound(candidates, 1)).toEqual({ first: 10n, last: 10n });
    expect(firstRound([], 1)).toBeUndefined();
  });

  it('selects the members a round admits, bounds included', () => {
    const members = [member(2, 1n), member(2, 2n), member(2, 3n), member(2, 4n)];
    expect(inRound(members, { first: 20n, last: 30n }).map((node) => node.token)).toEqual([20n, 30n]);
    expect(inRound(members, { first: 41n, last: 60n })).toEqual([]);
  });

  it('picks the newest marker at or below a token, comparing numerically', () => {
    const nodes = [member(2, 1n), marker(9n), marker(100n), marker(20n)];
    expect(newestMarkerAtOrBelow(nodes, 5n)).toBeUndefined();
    expect(newestMarkerAtOrBelow(nodes, 9n)).toBe(9n);
    expect(newestMarkerAtOrBelow(nodes, 99n)).toBe(20n);
    expect(newestMarkerAtOrBelow(nodes, 1000n)).toBe(100n);
    expect(newestMarkerAtOrBelow([member(2, 1n)], 1000n)).toBeUndefined();
  });

  it('writes and reads back a marker range; rejects anything but a decimal token', () => {
    expect(markerPath('/jobs/run', 42n)).toBe('/jobs/run/ready-42');
    expect(parseLast(encodeLast(123456789012345678901n), '/b/ready-1')).toBe(123456789012345678901n);
    for (const bad of ['', '-1', '1.5', ' 7', 'x']) {
      let code: string | undefined;
      try {
        parseLast(new TextEncoder().encode(bad), '/b/ready-1');
      } catch (error) {
        code = isCoordError(error) ? error.code : 'not a CoordError';
      }
      expect(code).toBe('INTERNAL');
    }
  });
});
