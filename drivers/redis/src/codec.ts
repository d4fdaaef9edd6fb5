/**
 * Decoding script replies (`scripts.ts`) into the driver's types. Replies come from
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
export function big(value: unknown): bigint {
  return BigInt(text(value));
}

/** A reply element as a number (revision, version). */
export function num(value: unknown): number {
  return Number(text(value));
}

/** A reply as an array. */
export function array(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new CoordError('INTERNAL', 'redis: a script replied with a non-array');
  return value;
}

/** A plain copy of the data: a Buffer may share a pool with unrelated bytes. */
function bytes(value: unknown): Uint8Array {
  if (!Buffer.isBuffer(value)) throw new CoordError('INTERNAL', 'redis: node data is not a bulk string');
  return new Uint8Array(value);
}

/**
 * Decodes a flat child listing `name, seq, token, owner, …` starting at `from`. Like the
 * reference driver, listings carry no owner, and plain nodes (seq 0) no token.
 */
export function listing(dir: string, reply: readonly unknown[], from: number): NodeRef[] {
  const nodes: NodeRef[] = [];
  for (let i = from; i + 3 < reply.length; i += 4) {
    const name = text(reply[i]);
    const seq = big(reply[i + 1]);
    nodes.push(Object.freeze({ path: joinPath(dir, name), name, seq, token: seq === 0n ? 0n : big(reply[i + 2]) }));
  }
  return nodes;
}

/** A node reference from a create's reply `{path, seq, token, owner, …}`. */
export function created(reply: readonly unknown[]): NodeRef {
  const path = text(reply[0]);
  const owner = text(reply[3]);
  const base = { path, name: path.slice(path.lastIndexOf('/') + 1), seq: big(reply[1]), token: big(reply[2]) };
  return Object.freeze(owner === '' ? base : { ...base, owner });
}

/** A node's content from a get's reply `{rev, data, version, owner, token}` (undefined if absent). */
export function nodeData(path: string, reply: readonly unknown[]): NodeData | undefined {
  if (reply.length < 5) return undefined;
  const owner = text(reply[3]);
  const base = { path, data: bytes(reply[1]), version: num(reply[2]) };
  return owner === '' ? base : { ...base, owner };
}

/** What a get saw, for comparing re-reads: the node's token and version, or its absence. */
export function nodeFingerprint(reply: readonly unknown[]): string {
  return reply.length < 5 ? '-' : `${text(reply[4])}:${text(reply[2])}`;
}

/** What a listing saw, for comparing re-reads: each child's name and token (a re-created plain node differs). */
export function childrenFingerprint(reply: readonly unknown[], from: number): string {
  const parts: string[] = [];
  for (let i = from; i + 3 < reply.length; i += 4) parts.push(`${text(reply[i])}@${text(reply[i + 2])}`);
  return parts.join('/');
}
