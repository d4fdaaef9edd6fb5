/**
 * What the fault-injection helpers act on: a handle from this package, or any Coord URL.
 */
import type { Endpoint } from './net.js';

/** A server or cluster handle (anything with a Coord `url`), or a Coord URL itself. */
export type ServerTarget = string | { readonly url: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { zookeeper: 2181, etcd: 2379, redis: 6379 };

/** A URL cut around its host list: `scheme://` + `user:pass@` + hosts + `/path?query#…`. */
export interface UrlParts {
  /** e.g. `zookeeper://` (empty if the URL has none). */
  readonly scheme: string;
  /** e.g. `user:pass@` (empty if none). */
  readonly userInfo: string;
  /** The comma-separated host list, e.g. `h1:2181,h2:2181`. */
  readonly hosts: string;
  /** Everything after the host list: path, query, fragment. */
  readonly tail: string;
}

/** Cuts `url` around its host list (the last `@` ends the credentials, which may contain `@`). */
export function splitUrl(url: string): UrlParts {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@') + 1;
  return { scheme, userInfo: authority.slice(0, at), hosts: authority.slice(at), tail: authorityEnd < 0 ? '' : rest.slice(authorityEnd) };
}

/**
 * The host:port list of a target's URL (credentials, path and query are ignored).
 * @throws Error for a URL without a host.
 */
export function endpointsOf(target: ServerTarget): Endpoint[] {
  const { scheme, hosts } = splitUrl(typeof target === 'string' ? target : target.url);
  const name = scheme.slice(0, -3).toLowerCase();
  const fallback = DEFAULT_PORTS[name] ?? DEFAULT_PORTS[name.slice(0, -1)] ?? 0; // etcds, rediss
  const endpoints = hosts
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(part);
      if (match === null) throw new Error(`@coord/testing: bad host:port "${part}" in a target URL`);
      const host = (match[1] as string).replace(/^\[|\]$/g, '');
      return { host, port: match[2] === undefined ? fallback : Number(match[2]) };
    });
  if (endpoints.length === 0) throw new Error('@coord/testing: no host in the target URL');
  return endpoints;
}
