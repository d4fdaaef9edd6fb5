/**
 * Free loopback ports for test servers.
 *
 * Ports are drawn at random BELOW the kernel's ephemeral range and checked by binding them.
 * Ports from `listen(0)` come from the ephemeral range, which the kernel also hands out as
 * source ports of outgoing connections: a server stopped for `restart()` could then find its
 * port taken by some client socket. Below the range only listeners compete, and a port is
 * never handed out twice by one process.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The loopback address every test server listens on. */
export const LOOPBACK = '127.0.0.1';

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (32768 where it cannot be read). */
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(low);
    return Number.isInteger(port) && port > 12_000 ? port : 32_768;
  } catch {
    return 32_768;
  }
}

/** Resolves true if `port` can be bound on loopback right now. */
export function portIsFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct loopback ports that are free now and were not handed out before by this
 * process.
 * @throws Error if no free port is found after many tries (a nearly full port range).
 */
export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralStart();
  const low = Math.max(1_024, high - 20_000);
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt += 1) {
    if (attempt > 1_000) throw new Error(`@coord/testing: no free loopback port in ${low}..${high - 1}`);
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}
