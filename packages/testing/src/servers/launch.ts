/**
 * Starting servers with retries: ports are checked free before a launch, but another process
 * may bind one in between. A start that fails because a port was taken is retried on fresh
 * ports; any other failure is reported at once.
 */
import { addressInUse, type Server } from './server.js';

const ATTEMPTS = 3;

/**
 * Makes and starts a server, retrying on a taken port unless the port was fixed by the caller.
 * @throws the start's CoordError (`TIMEOUT`, `UNAVAILABLE`) with the tail of the server's log.
 */
export async function launchServer(make: () => Promise<Server>, fixedPort: boolean): Promise<Server> {
  const [server] = await launchGroup(async () => [await make()], fixedPort);
  return server as Server;
}

/**
 * Makes a group of servers that need each other (a quorum) and starts them together.
 * @throws the first member's start error; every member is stopped first.
 */
export async function launchGroup(make: () => Promise<Server[]>, fixedPorts = false): Promise<Server[]> {
  for (let attempt = 1; ; attempt += 1) {
    const servers = await make();
    try {
      await Promise.all(servers.map((server) => server.start()));
      return servers;
    } catch (error) {
      const retry = !fixedPorts && attempt < ATTEMPTS && servers.some((server) => addressInUse(server.log()));
      for (const server of servers) await server.stop(); // in turn, as Cluster.stop does
      if (!retry) throw error;
    }
  }
}
