/**
 * The scripts' replies (`scripts.ts`), each decoded in one place into named fields: the
 * positions a script replies in are written here and nowhere else. Replies come from
 * `EVALSHA` in buffer mode: bulk strings are Buffers, integers are numbers.
 */
import { CoordError, joinPath, type NodeData, type NodeRef } from '@coord/core';

/** A reply element as text. */
export function text(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new CoordError('INTERNAL', `redis: unexpected reply element ${typeof value}`);
}

/** A reply element as a bigint (seq, token). */
function big(value: unknown): bigint {
  return BigInt(text(value));
}

/** A reply element as a number (revision, version). */
function num(value: unknown): number {
  return Number(text(value));
}

/** A reply as an array. */
function array(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new CoordError('INTERNAL', 'redis: a script replied with a non-array');
  return value;
}

/** A plain copy of the data: a Buffer may share a pool with unrelated bytes. */
function bytes(value: unknown): Uint8Array {
  if (!Buffer.isBuffer(value)) throw new CoordError('INTERNAL', 'redis: node data is not a bulk string');
  return new Uint8Array(value);
}

/** A flat child listing `name, seq, token, owner, …` from index `from`; listings carry no owner, plain nodes (seq 0) no token. */
function listing(dir: string, reply: readonly unknown[], from: number): NodeRef[] {
  const nodes: NodeRef[] = [];
  for (let i = from; i + 3 < reply.length; i += 4) {
    const name = text(reply[i]);
    const seq = big(reply[i + 1]);
    nodes.push(Object.freeze({ path: joinPath(dir, name), name, seq, token: seq === 0n ? 0n : big(reply[i + 2]) }));
  }
  return nodes;
}

/** Each child's name and token, for comparing re-reads (a re-created plain node differs). */
function listingFingerprint(reply: readonly unknown[], from: number): string {
  const parts: string[] = [];
  for (let i = from; i + 3 < reply.length; i += 4) parts.push(`${text(reply[i])}@${text(reply[i + 2])}`);
  return parts.join('/');
}

/** What `create` replies: `{path, seq, token, owner, revision, adopted, …siblings}`. */
export interface CreateReply {
  /** The node made (or, on a repeat, found: `adopted`), with its owner if ephemeral. */
  readonly node: NodeRef;
  /** The namespace revision after the create. */
  readonly revision: number;
  /** Whether a repeat found the node its first attempt made instead of making one. */
  readonly adopted: boolean;
  /** A sequential create's directory listing (empty for a plain create). */
  readonly siblings: NodeRef[];
}

/** Decodes a `create` reply; `dir` is the directory of a sequential create. */
export function decodeCreate(value: unknown, dir?: string): CreateReply {
  const reply = array(value);
  const path = text(reply[0]);
  const owner = text(reply[3]);
  const base = { path, name: path.slice(path.lastIndexOf('/') + 1), seq: big(reply[1]), token: big(reply[2]) };
  const node = Object.freeze(owner === '' ? base : { ...base, owner });
  return { node, revision: num(reply[4]), adopted: num(reply[5]) === 1, siblings: dir === undefined ? [] : listing(dir, reply, 6) };
}

/** What `get` replies: `{revision}` if absent, else `{revision, data, version, owner, token}`. */
export interface GetReply {
  readonly revision: number;
  /** The node's content, if it exists. */
  readonly node: NodeData | undefined;
  /** What the read saw (token and version, or absence), for comparing re-reads. */
  readonly fingerprint: string;
}

/** Decodes a `get` reply of `path`. */
export function decodeGet(value: unknown, path: string): GetReply {
  const reply = array(value);
  const revision = num(reply[0]);
  if (reply.length < 5) return { revision, node: undefined, fingerprint: '-' };
  const owner = text(reply[3]);
  const base = { path, data: bytes(reply[1]), version: num(reply[2]) };
  return { revision, node: owner === '' ? base : { ...base, owner }, fingerprint: `${text(reply[4])}:${text(reply[2])}` };
}

/** What `children` replies: `{revision, name, seq, token, owner, …}`. */
export interface ChildrenReply {
  readonly revision: number;
  readonly nodes: NodeRef[];
  /** Each child's name and token, for comparing re-reads. */
  readonly fingerprint: string;
}

/** Decodes a `children` reply of `dir`. */
export function decodeChildren(value: unknown, dir: string): ChildrenReply {
  const reply = array(value);
  return { revision: num(reply[0]), nodes: listing(dir, reply, 1), fingerprint: listingFingerprint(reply, 1) };
}

/** Decodes a `set` reply: the node's new version. */
export function decodeSet(value: unknown): number {
  return num(value);
}

/** Decodes a `delete` reply: whether it deleted the node (1) or found none (0). */
export function decodeDelete(value: unknown): boolean {
  return num(value) === 1;
}
