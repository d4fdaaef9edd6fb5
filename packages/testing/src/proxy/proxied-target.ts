/**
 * A server (or a whole cluster) seen through fault proxies: one proxy per host of the
 * server's URL, and a URL that names the proxies instead. A client connected with that URL
 * can be partitioned, healed or made to lose a reply on its own while every other client
 * keeps talking to the server directly — what a conformance case needs to cut one holder off.
 *
 * The proxies run on a thread of their own (see `proxy-thread.ts`), so a client that blocks
 * its thread — the ZooKeeper C client waits on its socket when it closes — is still proxied
 * while it waits, as on a real network.
 */
import { endpointsOf, splitUrl, type ServerTarget } from '../servers/targets.js';
import type { FaultProxyStats } from './fault-proxy.js';
import { proxyThread, statsOf, type ProxyEndpoint } from './proxy-thread-client.js';

export type { ProxyEndpoint } from './proxy-thread-client.js';

/** A target behind fault proxies; every fault applies to every proxy (every host) at once. */
export interface ProxiedTarget extends AsyncDisposable {
  /** The target's URL with each `host:port` replaced by its proxy's address. */
  readonly url: string;
  /** Where each proxy listens, one per host, in the URL's order. */
  readonly proxies: readonly ProxyEndpoint[];
  /** Silence: nothing forwarded either way, connections stay open (see `FaultProxy.blackhole`). */
  blackhole(): void;
  /** Stop reading both ways; `heal()` delivers what waited (see `FaultProxy.partition`). */
  partition(): void;
  /** Forward requests, drop the replies. */
  dropReplies(): void;
  /** Drop the reply to the next request of every live connection; returns how many were armed. */
  loseNextReply(): number;
  /** Add latency both ways. */
  delay(ms: number): void;
  /** Reset every live connection; returns how many. */
  reset(): number;
  /** Back to plain forwarding. */
  heal(): void;
  /** The proxies' counters, summed over every host. */
  stats(): FaultProxyStats;
  /** Closes every proxy (idempotent). */
  close(): Promise<void>;
}

/**
 * Puts a fault proxy in front of every host of `target` (a server handle, a cluster handle
 * or a Coord URL) and returns the URL to connect through them. Each fault method has taken
 * effect on every live connection when it returns.
 * @example
 * ```ts
 * await using zk = await startZooKeeper();
 * await using net = await proxyTarget(zk);
 * const coord = await connect(net.url);   // this client alone goes through the proxy
 * net.partition();                        // cut it off; `net.heal()` reconnects it
 * ```
 * @throws Error if the target's URL has no host, or a proxy cannot listen.
 */
export async function proxyTarget(target: ServerTarget): Promise<ProxiedTarget> {
  const url = typeof target === 'string' ? target : target.url;
  const endpoints = endpointsOf(url);
  const thread = proxyThread();
  const { set, endpoints: proxies } = await thread.open(endpoints);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= thread.close(set));
  // After close() a fault is a no-op, as on an in-thread proxy.
  const fault = (op: Parameters<typeof thread.fault>[1], ms = 0): number => (closing === undefined ? (thread.fault(set, op, ms)[0] ?? 0) : 0);
  return {
    url: withHosts(url, proxies.map((proxy) => proxy.address)),
    proxies,
    blackhole: () => void fault('blackhole'),
    partition: () => void fault('partition'),
    dropReplies: () => void fault('dropReplies'),
    loseNextReply: () => fault('loseNextReply'),
    delay: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`fault proxy: delay must be a finite number >= 0, got ${ms}`);
      fault('delay', ms);
    },
    reset: () => fault('reset'),
    heal: () => void fault('heal'),
    stats: () => statsOf(closing === undefined ? thread.fault(set, 'stats') : []),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** `url` with its host list replaced by `hosts` (credentials, path and query kept). */
export function withHosts(url: string, hosts: readonly string[]): string {
  const { scheme, userInfo, tail } = splitUrl(url);
  return `${scheme}${userInfo}${hosts.join(',')}${tail}`;
}
