/**
 * Where groups live and what their nodes hold. Every group is a persistent marker node
 * `/.coord/groups/<name>` under one reserved root, so listing the root lists exactly the
 * groups, whatever else (locks, elections...) shares the namespace. Members are ephemeral
 * children `<marker>/<memberId>`.
 *
 * A marker holds `group:<incarnation id>`, so a watcher can tell its group from one deleted
 * and created again under the same name. A member holds `<join id>\n<capabilities>`: the
 * join id is new for every join (and every rejoin), so a watcher that sees the same member
 * id with another join id knows the member left and joined again between two reads.
 */
import { CoordError, joinPath, validateName, validatePath, type Codec, type Driver, type NodeData } from '@coord/core';
import { attemptId } from './attempt.js';

/** The reserved root every group marker lives under. */
export const GROUPS_ROOT = '/.coord/groups';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;
const MARKER_PREFIX = 'group:';

/** The marker path of a group, after checking the name. @throws CoordError `INVALID_ARGUMENT`. */
export function groupPath(name: string): string {
  return validatePath(joinPath(GROUPS_ROOT, validateName(name, 'group name')), 'group name');
}

/** A member's path, after checking the id. @throws CoordError `INVALID_ARGUMENT`. */
export function memberPath(group: string, memberId: string): string {
  return validatePath(joinPath(group, validateName(memberId, 'member id')), 'member id');
}

/** The data of a new marker: a fresh incarnation id. */
export function newMarker(): Uint8Array {
  return encoder.encode(`${MARKER_PREFIX}${attemptId()}`);
}

/** The incarnation id a marker holds (the whole text if it is not one of ours). */
export function markerId(data: Uint8Array): string {
  return decoder.decode(data);
}

/** A member node's content. */
export interface MemberRecord<T> {
  /** Unique per join: a changed join id means the member left and joined again. */
  readonly joinId: string;
  readonly capabilities: T;
  /** The node's data version: grows with every `update`. */
  readonly version: number;
}

/** Encodes a member node's data: the join id, a newline, then the encoded capabilities. */
export function encodeMember(joinId: string, capabilities: Uint8Array): Uint8Array {
  const head = encoder.encode(`${joinId}\n`);
  const data = new Uint8Array(head.length + capabilities.length);
  data.set(head);
  data.set(capabilities, head.length);
  return data;
}

/** Decodes a member node. @throws CoordError `INTERNAL` if it is not a member node. */
export function decodeMember<T>(node: NodeData, codec: Codec<T>): MemberRecord<T> {
  const cut = node.data.indexOf(NEWLINE);
  if (cut < 0) throw new CoordError('INTERNAL', `group member ${node.path}: not a member node (no join id)`);
  const joinId = decoder.decode(node.data.subarray(0, cut));
  return { joinId, capabilities: codec.decode(node.data.subarray(cut + 1)), version: node.version };
}

/** Reads one member; undefined if it is gone. */
export async function readMember<T>(driver: Driver, path: string, codec: Codec<T>): Promise<MemberRecord<T> | undefined> {
  const { node } = await driver.get(path);
  return node === undefined ? undefined : decodeMember(node, codec);
}
