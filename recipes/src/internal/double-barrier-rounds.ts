/**
 * The round arithmetic of the double barrier (`double-barrier.ts`), as pure functions over
 * listings. Members are ephemeral sequential nodes `m-<count>-<attempt>-<seq>`; a round is a
 * range `[first, last]` of member tokens, written once as the persistent marker
 * `ready-<first>` holding `last` in decimal. Tokens, not sequence numbers, because tokens keep
 * increasing even if the backend re-creates the empty parent directory.
 */
import { CoordError, joinPath, type NodeRef } from '@coord/core';

/** A round: the member tokens its marker admits. */
export interface Round {
  readonly first: bigint;
  readonly last: bigint;
}

const MEMBER = /^m-(\d+)-/;
const MARKER = /^ready-(\d+)$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The name prefix of a member node of a barrier of `count`, for one attempt. */
export function memberPrefix(count: number, attempt: string): string {
  return `m-${count}-${attempt}-`;
}

/** The first member node in a listing made with a count other than `count`, if any. */
export function otherCountMember(nodes: readonly NodeRef[], count: number): NodeRef | undefined {
  return nodes.find((node) => node.seq > 0n && (MEMBER.exec(node.name)?.[1] ?? String(count)) !== String(count));
}

/** The members of a listing that use `count`, in creation order. */
export function membersOf(nodes: readonly NodeRef[], count: number): NodeRef[] {
  return nodes.filter((node) => node.seq > 0n && MEMBER.exec(node.name)?.[1] === String(count));
}

/** The members whose token lies in `round`, in creation order. */
export function inRound(members: readonly NodeRef[], round: Round): NodeRef[] {
  return members.filter((node) => node.token >= round.first && node.token <= round.last);
}

/**
 * The round the first `count` of `candidates` (members above the last round, in creation
 * order) form, or undefined while there are fewer than `count`.
 */
export function firstRound(candidates: readonly NodeRef[], count: number): Round | undefined {
  const head = candidates[0];
  const completing = candidates[count - 1];
  if (head === undefined || completing === undefined) return undefined;
  return { first: head.token, last: completing.token };
}

/** The largest `first` of the markers in a listing that is at or below `token`. */
export function newestMarkerAtOrBelow(nodes: readonly NodeRef[], token: bigint): bigint | undefined {
  let newest: bigint | undefined;
  for (const node of nodes) {
    const digits = MARKER.exec(node.name)?.[1];
    if (digits === undefined) continue;
    const first = BigInt(digits);
    if (first <= token && (newest === undefined || first > newest)) newest = first;
  }
  return newest;
}

/** The path of the marker of the round starting at `first`, under the barrier's `dir`. */
export function markerPath(dir: string, first: bigint): string {
  return joinPath(dir, `ready-${first}`);
}

/** A marker's data: the round's `last`. */
export function encodeLast(last: bigint): Uint8Array {
  return encoder.encode(last.toString());
}

/**
 * A marker's `last`, from its data.
 * @throws CoordError `INTERNAL` if the data is not a decimal token.
 */
export function parseLast(data: Uint8Array, path: string): bigint {
  const text = decoder.decode(data);
  if (!/^\d+$/.test(text)) throw new CoordError('INTERNAL', `double barrier: marker ${path} holds ${JSON.stringify(text)}, not a token`);
  return BigInt(text);
}
