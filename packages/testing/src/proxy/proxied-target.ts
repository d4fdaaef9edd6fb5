/**
 * A server (or a whole cluster) seen through fault proxies: one proxy per host of the
 * server's URL, and a URL that names the proxies instead. A client connected with that URL
 * can be partitioned, healed or made to lose a reply on its own while every other client
 * keeps talking to the server directly — what a conformance case needs to cut one holder off.
 */
import { endpointsOf, splitUrl, type ServerTarget } from '../servers/targets.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** A target behind fault proxies; every fault applies to every proxy (every host) at once. */
export interface ProxiedTarget extends AsyncDisposable {
  /** The target's URL with each `host:port` replaced by its proxy's address. */
  readonly url: string;
  /** One proxy per host, in the URL's order. */
  readonly proxies: readonly FaultProxy[];
  /** Silence: nothing forwarded either way, connections stay open (see {@link FaultProxy.blackhole}). */
  blackhole(): void;
  /** Stop reading both ways; `heal()` delivers what waited (see {@link FaultProxy.partition}). */
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
  /** Closes every proxy (idempotent). */
  close(): Promise<void>;
}

/**
 * Puts a fault proxy in front of every host of `target` (a server handle, a cluster handle
 * or a Coord URL) and returns the URL to connect through them.
 * @example
 * ```ts
 * await using zk = await startZooKeeper();
 * await using net = await proxyTarget(zk);
 * const coord = await connect(net.url);   // this client alone goes through the proxy
 * net.partition();                        // cut it off; `net.heal()` reconnects it
 * ```
 * @throws Error if the target's URL has no host.
 */
export async function proxyTarget(target: ServerTarget): Promise<ProxiedTarget> {
  const url = typeof target === 'string' ? target : target.url;
  const proxies: FaultProxy[] = [];
  try {
    for (const endpoint of endpointsOf(url)) proxies.push(await startFaultProxy({ target: endpoint }));
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  const each = (fault: (proxy: FaultProxy) => number | void): number => proxies.reduce((sum, proxy) => sum + (fault(proxy) ?? 0), 0);
  const close = async (): Promise<void> => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  };
  return {
    url: withHosts(url, proxies.map((proxy) => proxy.address)),
    proxies,
    blackhole: () => void each((proxy) => proxy.blackhole()),
    partition: () => void each((proxy) => proxy.partition()),
    dropReplies: () => void each((proxy) => proxy.dropReplies()),
    loseNextReply: () => each((proxy) => proxy.loseNextReply()),
    delay: (ms) => void each((proxy) => proxy.delay(ms)),
    reset: () => each((proxy) => proxy.reset()),
    heal: () => void each((proxy) => proxy.heal()),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** `url` with its host list replaced by `hosts` (credentials, path and query kept). */
export function withHosts(url: string, hosts: readonly string[]): string {
  const { scheme, userInfo, tail } = splitUrl(url);
  return `${scheme}${userInfo}${hosts.join(',')}${tail}`;
}
