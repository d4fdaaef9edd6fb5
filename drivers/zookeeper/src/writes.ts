/**
 * The write protocols under the driver's creates, sets and deletes: creating a node with its
 * missing parents (containers), recognising a node a lost create made (Curator's protected
 * mode), and checking a creation token before a write. Each takes the call it runs in.
 */
import { baseName, joinPath, parentPath } from '@coord/core';
import { Code, CreateFlag } from './native.js';
import { plainToken, sequenceOf, splitToken, toBuffer } from './nodes.js';
import { childrenOf, createRaw, statOf, syncWith, type Call } from './requests.js';

const EMPTY = Buffer.alloc(0);

/** The outcome of a token check: whether `path` holds the token's node, and the version to write with. */
export interface TokenMatch {
  readonly match: boolean;
  readonly version: number;
}

/**
 * Creates `path` (ZooKeeper appends the sequence when `flags` ask for it) and returns the
 * server path it got. Missing parents are created as container nodes (the server deletes
 * them once they are empty again) unless `requireParent`.
 */
export async function createNode(call: Call, path: string, data: Uint8Array, flags: number, requireParent: boolean, namespaceRoot: string): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    const { rc, path: made } = await createRaw(call, path, toBuffer(data), flags);
    if (made !== undefined) return made;
    // A container parent may be reaped between our parent create and this one: try again.
    if (rc !== Code.NO_NODE || requireParent || attempt >= 3) throw call.fail(rc);
    await ensureDir(call, parentPath(path), namespaceRoot);
  }
}

/** Creates a directory and its missing ancestors: containers, except the namespace root. */
export async function ensureDir(call: Call, dir: string, namespaceRoot: string): Promise<void> {
  if (dir === '/') return;
  // The namespace root and its ancestors are permanent: a container would vanish when empty.
  const ofNamespace = dir === namespaceRoot || namespaceRoot.startsWith(`${dir}/`);
  const flags = ofNamespace ? CreateFlag.PERSISTENT : CreateFlag.CONTAINER;
  for (let attempt = 0; ; attempt += 1) {
    const { rc } = await createRaw(call, dir, EMPTY, flags);
    if (rc === Code.OK || rc === Code.NODE_EXISTS) return;
    if (rc !== Code.NO_NODE) throw call.fail(rc);
    if (attempt >= 3) throw call.fail(rc);
    await ensureDir(call, parentPath(dir), namespaceRoot);
  }
}

/**
 * After a lost create reply, whether the node at `path` is the one our create made: only
 * an ephemeral node of this very session whose creation this session did not already
 * know of (by its `czxid`) qualifies. A persistent node carries no owner, so it is never
 * provably ours, and the create reports `NODE_EXISTS`.
 */
export async function provablyOurs(call: Call, path: string, ephemeral: boolean, known: bigint | undefined): Promise<boolean> {
  if (!ephemeral) return false;
  const stat = await statOf(call, path);
  if (stat === undefined || stat.ephemeralOwner !== call.conn.session.id) return false;
  return known !== plainToken(stat);
}

/**
 * Protected-mode recovery: the server path of a child of `dir` named `prefix` + sequence
 * that this attempt made, if any. An ephemeral candidate must belong to the call's session
 * (a node of an older session is not ours: CURATOR-498).
 */
export async function findAttempt(call: Call, dir: string, prefix: string, ephemeral: boolean): Promise<string | undefined> {
  const listed = await childrenOf(call, dir);
  const candidates = (listed?.names ?? []).filter((name) => name.length === prefix.length + 10 && name.startsWith(prefix) && sequenceOf(name) > 0n);
  for (const name of candidates) {
    const path = joinPath(dir, name);
    if (!ephemeral) return path;
    if ((await statOf(call, path))?.ephemeralOwner === call.conn.session.id) return path;
  }
  return undefined;
}

/**
 * Whether `path` holds the node whose create returned `token`, and the version to write
 * with. A sequential token names a directory incarnation (its `czxid`) and a sequence,
 * and a sequence is never reused within one incarnation; so the check reads the
 * directory's stat — or nothing at all when `ownToken` (given for a delete of an ephemeral
 * node this session created) is the token: the node cannot have been replaced unless
 * someone deleted it and the directory was reaped and re-created meanwhile. A plain token is the node's `czxid`, read from its stat.
 * @throws CoordError `BAD_VERSION` if `version` is given and does not match.
 */
export async function matchToken(call: Call, path: string, token: bigint, version: number | undefined, ownToken?: bigint): Promise<TokenMatch> {
  const seq = sequenceOf(baseName(path));
  const named = splitToken(token);
  if (seq > 0n && named.seq === seq) {
    if (ownToken === token) return { match: true, version: version ?? -1 };
    const [, parent] = await Promise.all([syncWith(call, path), statOf(call, parentPath(path))]);
    return { match: parent !== undefined && BigInt(parent.czxid) === named.parentCzxid, version: version ?? -1 };
  }
  const [, stat] = await Promise.all([syncWith(call, path), statOf(call, path)]);
  if (stat === undefined || plainToken(stat) !== token) return { match: false, version: -1 };
  if (version !== undefined && stat.version !== version) throw call.fail(Code.BAD_VERSION);
  return { match: true, version: stat.version };
}
