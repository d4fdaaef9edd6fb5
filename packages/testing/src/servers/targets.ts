/**
 * What the fault-injection helpers act on: a handle from this package, or any Coord URL.
 */
import type { Endpoint } from './net.js';

/** A server or cluster handle (anything with a Coord `url`), or a Coord URL itself. */
export type ServerTarget = string | { readonly url: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { zookeeper: 2181, etcd: 2379, redis: 6379 };

/**
 * The host:port list of a target's URL (credentials, path and query are ignored).
 * @throws Error for a URL without a host.
 */
export function endpointsOf(target: ServerTarget): Endpoint[] {
  const url = typeof target === 'string' ? target : target.url;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  let rest = scheme ? url.slice(scheme[0].length) : url;
  rest = rest.replace(/[/?#].*$/s, '');
  rest = rest.slice(rest.lastIndexOf('@') + 1);
  const name = (scheme?.[1] ?? '').toLowerCase();
  const fallback = DEFAULT_PORTS[name] ?? DEFAULT_PORTS[name.slice(0, -1)] ?? 0; // etcds, rediss
  const endpoints = rest
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
