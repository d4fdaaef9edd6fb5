/**
 * How node paths map onto etcd keys. etcd has a flat, sorted key space and no parents, so the
 * encoding is chosen to make the three ranges the driver needs contiguous:
 *
 *   node `/a/b/c` (plain)       →  `<ns>/a/b` + `\x00` + `c`
 *   node `/a/b/c` (sequential)  →  `<ns>/a/b` + `\x00` + `c` + `\x00`
 *
 * - The **direct children** of `/a/b` are exactly the keys starting with `<ns>/a/b\x00`: one
 *   range, which never touches the grandchildren (`<ns>/a/b/c\x00…`). Listing a directory
 *   costs the same however deep the tree below it is.
 * - The **deeper descendants** of `/a/b` are the keys starting with `<ns>/a/b/`: with the
 *   children, two ranges cover the whole subtree (for `NOT_EMPTY` and "an ephemeral node
 *   cannot have children", compared inside the Txn that writes).
 * - The session key `<ns>\x01<lease id>` (see {@link KeyLayout.sessionKey}) is in none of these.
 * - A path's **own range** `[K, K\x01)` holds at most its plain key `K` and its sequential
 *   key `K\x00`, because names never contain control characters (core's `validatePath`).
 *   Reads, deletes and compares work on that range, so they need not know which kind of node
 *   is there; the trailing marker is how a listing tells sequential nodes (seq = create
 *   revision) from plain ones (seq 0) without fetching values.
 */
import { baseName, parentPath } from '@coord/core';

/** A key range `[start, end)` in etcd's byte order. */
export interface KeyRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

const NUL = 0x00;

/** The key codec of one namespace (the URL's prefix, e.g. `/app`, or `''`). */
export class KeyLayout {
  readonly #base: string;

  constructor(namespace: string) {
    this.#base = namespace;
  }

  /** The key of a plain node at `path` (not the root). */
  plainKey(path: string): Buffer {
    return Buffer.from(`${this.#base}${directoryPart(parentPath(path))}\x00${baseName(path)}`, 'utf8');
  }

  /** The key of a sequential node at `path`: the plain key plus a trailing NUL. */
  sequentialKey(path: string): Buffer {
    return Buffer.concat([this.plainKey(path), Buffer.from([NUL])]);
  }

  /** The node's own range: its plain key and its sequential key, nothing else. */
  nodeRange(path: string): KeyRange {
    const start = this.plainKey(path);
    return { start, end: Buffer.concat([start, Buffer.from([0x01])]) };
  }

  /** The direct children of `dir`, plain and sequential. */
  childrenRange(dir: string): KeyRange {
    const stem = `${this.#base}${directoryPart(dir)}`;
    return { start: Buffer.from(`${stem}\x00`, 'utf8'), end: Buffer.from(`${stem}\x01`, 'utf8') };
  }

  /** Every node strictly below the children of `dir` (grandchildren and deeper). */
  deeperRange(dir: string): KeyRange {
    const stem = `${this.#base}${directoryPart(dir)}`;
    // '0' is the byte after '/': the range is every key starting with `<stem>/`.
    return { start: Buffer.from(`${stem}/`, 'utf8'), end: Buffer.from(`${stem}0`, 'utf8') };
  }

  /**
   * The session key of a lease: attached to the lease and never deleted by the driver, so
   * its deletion (watched) tells that etcd revoked or expired the lease. It sits outside
   * every node range (`\x01` after the namespace; node keys continue with `\x00` or `/`).
   */
  sessionKey(leaseId: string): KeyRange {
    const start = Buffer.from(`${this.#base}\x01${leaseId}`, 'utf8');
    return { start, end: Buffer.concat([start, Buffer.from([NUL])]) };
  }

  /**
   * The node a key names, or undefined for a key this codec did not make (another
   * namespace, another application's key).
   */
  decode(key: Buffer): { path: string; sequential: boolean } | undefined {
    const text = key.toString('utf8');
    if (!text.startsWith(this.#base)) return undefined;
    const rest = text.slice(this.#base.length);
    const cut = rest.indexOf('\x00');
    if (cut < 0) return undefined;
    const parent = rest.slice(0, cut);
    if (parent !== '' && !parent.startsWith('/')) return undefined;
    let name = rest.slice(cut + 1);
    const sequential = name.endsWith('\x00');
    if (sequential) name = name.slice(0, -1);
    if (name === '' || name.includes('\x00')) return undefined;
    return { path: `${parent}/${name}`, sequential };
  }
}

/** A directory's part of its children's keys: `''` for the root, else the path itself. */
function directoryPart(dir: string): string {
  return dir === '/' ? '' : dir;
}
