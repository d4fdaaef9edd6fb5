/**
 * Key layout and node codec: where a Coord path lives on the server (under the URL's
 * namespace), how sequential names and tokens are read, and how listings are built.
 *
 * Tokens. A plain node's token is its `czxid` (the zxid of its create: later creates of the
 * same path get larger ones, also across leader elections, whose epoch is the zxid's high
 * half). A sequential node's token is `parent czxid × 2^32 + seq`: the sequence grows
 * within one incarnation of the directory, and a directory that ZooKeeper deleted (a
 * container node emptied) and that was created again has a larger `czxid`, so its tokens are
 * larger than every earlier one even though its sequence restarts at 0. `getChildren2`
 * returns the parent's stat with the names, so a listing carries the same token the create
 * reported, with no request per child.
 */
import { baseName, joinPath, type NodeRef } from '@coord/core';
import type { Stat } from './native.js';

/**
 * ZooKeeper appends the sequence as 10 decimal digits (`%010d`). A name is sequential if it
 * ends in exactly 10 digits after a non-digit (or is 10 digits): `ready-1234567890123`, a
 * recipe's name carrying a number, is not. So a sequential prefix must not end in a digit
 * ({@link checkSequentialPrefix}).
 */
const SEQUENCE = /(?:^|\D)(\d{10})$/;
const SEQUENCE_BITS = 32n;
const SEQUENCE_MASK = (1n << SEQUENCE_BITS) - 1n;

/** Maps Coord paths to server paths under a namespace (`''` or `/app`). */
export class Namespace {
  readonly root: string;

  constructor(namespace: string) {
    this.root = namespace === '' ? '/' : namespace;
  }

  /** The server path of a Coord path. */
  toServer(path: string): string {
    if (this.root === '/') return path;
    return path === '/' ? this.root : `${this.root}${path}`;
  }

  /** The Coord path of a server path under the namespace. */
  fromServer(path: string): string {
    if (this.root === '/') return path;
    const rest = path.slice(this.root.length);
    return rest === '' ? '/' : rest;
  }
}

/**
 * A sequential node's `seq`: the 10-digit counter ZooKeeper appended to its name, plus one
 * (the counter starts at 0, and `seq` 0 means a plain node); `0n` for a plain name.
 */
export function sequenceOf(name: string): bigint {
  const match = SEQUENCE.exec(name);
  return match === null ? 0n : BigInt(match[1] as string) + 1n;
}

/**
 * Checks that a sequential prefix leaves its sequence recognisable in listings.
 * @returns a reason to reject the prefix, or undefined
 */
export function checkSequentialPrefix(prefix: string): string | undefined {
  return /\d$/.test(prefix) ? 'must not end in a digit (ZooKeeper appends the sequence as 10 digits)' : undefined;
}

/** The token of sequential node `seq` in the directory incarnation whose stat is `parent`. */
export function sequentialToken(parent: Stat, seq: bigint): bigint {
  return (BigInt(parent.czxid) << SEQUENCE_BITS) | seq;
}

/** The directory incarnation (its `czxid`) and sequence a sequential token names. */
export function splitToken(token: bigint): { parentCzxid: bigint; seq: bigint } {
  return { parentCzxid: token >> SEQUENCE_BITS, seq: token & SEQUENCE_MASK };
}

/** A plain node's token: its `czxid`. */
export function plainToken(stat: Stat): bigint {
  return BigInt(stat.czxid);
}

/** The owner of a node, if it is ephemeral. */
export function ownerOf(stat: Stat): string | undefined {
  return stat.ephemeralOwner === '0' ? undefined : stat.ephemeralOwner;
}

/**
 * A directory listing as `NodeRef`s: sequential children by sequence (with their tokens),
 * then plain children by name (token `0n`, as the contract has it for listings).
 */
export function listing(dir: string, names: readonly string[], parent: Stat | null): NodeRef[] {
  const sequential: { ref: NodeRef; seq: bigint }[] = [];
  const plain: NodeRef[] = [];
  for (const name of names) {
    const path = joinPath(dir, name);
    const seq = sequenceOf(name);
    if (seq > 0n && parent !== null) sequential.push({ ref: Object.freeze({ path, name, seq, token: sequentialToken(parent, seq) }), seq });
    else plain.push(Object.freeze({ path, name, seq: 0n, token: 0n }));
  }
  sequential.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  plain.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...sequential.map((entry) => entry.ref), ...plain];
}

/** The `NodeRef` a create returns. */
export function createdRef(path: string, seq: bigint, token: bigint, owner: string | undefined): NodeRef {
  const name = baseName(path);
  return Object.freeze(owner === undefined ? { path, name, seq, token } : { path, name, seq, token, owner });
}

/** Bytes for the addon: a Buffer view of the caller's bytes (the addon copies them). */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
