/**
 * Building blocks of the Txns the driver sends, and decoding of what they return. Compares
 * work on key ranges (etcd ≥ 3.3): a compare over a range holds when it holds for every key
 * in it, and over an empty range it sees a missing key (create revision 0, lease 0). So
 * "the node's own range has create revision 0" means "no node at this path, plain or
 * sequential", and "the children range has create revision 0" means "no children".
 */
import type { CreateOptions, NodeRef, VersionOptions } from '@coord/core';
import type { ICompare, IKeyValue, IRangeRequest, IRequestOp, ITxnResponse } from 'etcd3';
import type { KeyLayout, KeyRange } from './keys.js';

/** `ICompare` with the fields etcd3's typings leave out (the proto has them). */
export type Compare = ICompare & { readonly range_end?: Buffer; readonly lease?: string };

type Target = 'Create' | 'Version' | 'Lease';
type Result = 'Equal' | 'Greater' | 'NotEqual';

const FIELD: Record<Target, 'create_revision' | 'version' | 'lease'> = {
  Create: 'create_revision',
  Version: 'version',
  Lease: 'lease',
};

/** A compare of `target` over a whole key range. */
export function compareRange(range: KeyRange, target: Target, result: Result, value: string | bigint | number): Compare {
  return { key: range.start, range_end: range.end, target, result, [FIELD[target]]: String(value) } as Compare;
}

/** A range read of keys (and their revisions, versions and leases) without values. */
export function keysOf(range: KeyRange, extra: Partial<IRangeRequest> = {}): IRequestOp {
  return { request_range: { key: range.start, range_end: range.end, keys_only: true, ...extra } };
}

/** Whether a range has any key, counted without fetching it. */
export function countOf(range: KeyRange): IRequestOp {
  return { request_range: { key: range.start, range_end: range.end, count_only: true } };
}

/** A node as listed: sequential nodes carry their create revision as seq and token. */
export function listed(codec: KeyLayout, kv: IKeyValue): NodeRef | undefined {
  const decoded = codec.decode(kv.key);
  if (decoded === undefined) return undefined;
  const { path, sequential } = decoded;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const revision = sequential ? BigInt(kv.create_revision) : 0n;
  return Object.freeze({ path, name, seq: revision, token: revision });
}

/** A directory listing: sequential children by seq, then plain ones by name (as ZooKeeper's recipes expect). */
export function listing(codec: KeyLayout, kvs: readonly IKeyValue[]): NodeRef[] {
  const sequential: NodeRef[] = [];
  const plain: NodeRef[] = [];
  for (const kv of kvs) {
    const node = listed(codec, kv);
    if (node !== undefined) (node.seq > 0n ? sequential : plain).push(node);
  }
  sequential.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  plain.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sequential.concat(plain);
}

/** The first key a range op of a Txn response returned. */
export function firstKv(response: ITxnResponse, index: number): IKeyValue | undefined {
  return rangeKvs(response, index)[0];
}

/** The keys the range op at `index` of a Txn response returned. */
export function rangeKvs(response: ITxnResponse, index: number): readonly IKeyValue[] {
  return response.responses[index]?.response_range?.kvs ?? [];
}

/**
 * The parent's own range, read back when a create fails. The root is no node: its stand-in
 * is a range no node can be in (names have no control characters), keeping the failure
 * branch's shape the same for every path.
 */
export function parentRange(keys: KeyLayout, parent: string): KeyRange {
  return keys.nodeRange(parent === '/' ? '/\u0000' : parent);
}

/** The parent must exist (`requireParent`) and must not be ephemeral. The root always qualifies. */
export function parentChecks(keys: KeyLayout, parent: string, options: CreateOptions): Compare[] {
  if (parent === '/') return [];
  const range = keys.nodeRange(parent);
  const checks = [compareRange(range, 'Lease', 'Equal', 0)];
  if (options.requireParent === true) checks.push(compareRange(range, 'Create', 'Greater', 0));
  return checks;
}

/** The node exists and, if asked, is the one of `token` and at `version`. */
export function nodeChecks(own: KeyRange, options: VersionOptions): Compare[] {
  const checks = [compareRange(own, 'Create', 'Greater', 0)];
  if (options.token !== undefined) checks.push(compareRange(own, 'Create', 'Equal', options.token));
  if (options.version !== undefined) checks.push(compareRange(own, 'Version', 'Equal', options.version + 1));
  return checks;
}
