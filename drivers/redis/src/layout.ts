/**
 * Where a namespace lives in Redis. Every key and channel of one namespace starts with the
 * same hash tag (`{app}:`), so on Redis Cluster they all hash to one slot and a Lua script
 * may touch any of them atomically.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{P}:rev` | string | the namespace counter: `INCR`ed once by every mutating script; seq and token of a new node |
 * | `{P}:n:<path>` | hash | one node: `d` data, `v` version, `s` seq, `t` token, `o` owner session (ephemeral only), `r` last set's request id |
 * | `{P}:c:<dir>` | sorted set | a directory's children: score = seq (sequential), `+inf` (plain, so they sort after, by name) |
 * | `{P}:desc` | hash | per path, the number of nodes strictly below it (`NOT_EMPTY` across implied parents) |
 * | `{P}:s:<session>` | string, PX | a live session: the key exists while the session lives |
 * | `{P}:l:<session>` | string, PX | the session's lease: until when (server time, ms) its last renewal granted it |
 * | `{P}:e:<session>` | set, PX | the paths of a session's ephemeral nodes (so closing a session deletes them in one script) |
 * | `{P}:r:<token>` | string, PX | receipt of a token-guarded delete: its request id, so a repeat after a lost reply reports true |
 * | channel `{P}:w:<path>` | pub/sub | `"<rev> n"` when the node at path changes, `"<rev> c"` when its child list does |
 */
import { CoordError } from '@coord/core';

/** The prefix used when the URL gives none (`redis://host`). */
export const DEFAULT_PREFIX = 'coord';

/** Names of one namespace's keys and channels. */
export class Layout {
  /** `{prefix}:` — every key and channel starts with it. */
  readonly base: string;
  /** The namespace counter; passed as `KEYS[1]` so a cluster client routes the script by it. */
  readonly counter: string;

  constructor(prefix: string = DEFAULT_PREFIX) {
    // A '{' or '}' in the prefix would move the hash tag; the URL grammar already refuses them.
    if (/[{}]/.test(prefix) || prefix === '') {
      throw new CoordError('INVALID_ARGUMENT', `redis: prefix ${JSON.stringify(prefix)} must be non-empty, without braces`);
    }
    this.base = `{${prefix}}:`;
    this.counter = `${this.base}rev`;
  }

  /** The key whose existence is the session's life. */
  session(id: string): string {
    return `${this.base}s:${id}`;
  }

  /** The set of a session's ephemeral paths. */
  ephemeralIndex(id: string): string {
    return `${this.base}e:${id}`;
  }

  /** The pub/sub channel of a path. */
  channel(path: string): string {
    return `${this.base}w:${path}`;
  }

  /** The path a channel name belongs to, or undefined for a foreign channel. */
  pathOf(channel: string): string | undefined {
    const head = `${this.base}w:`;
    return channel.startsWith(head) ? channel.slice(head.length) : undefined;
  }
}

/** What a pub/sub message says changed: the node itself (`n`) or its list of children (`c`). */
export type ChangeKind = 'n' | 'c';

/** A decoded pub/sub message: the namespace revision of the change, and its kind. */
export interface Change {
  readonly rev: number;
  readonly kind: ChangeKind;
}

/** Decodes `"<rev> <kind>"`; undefined for anything else (never trust a channel's content). */
export function parseChange(message: string): Change | undefined {
  const match = /^(\d+) ([nc])$/.exec(message);
  if (match === null) return undefined;
  return { rev: Number(match[1]), kind: match[2] as ChangeKind };
}
