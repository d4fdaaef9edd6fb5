// The generic server machinery with a stand-in server (a few lines of Node listening on a
// port): retries on a taken port, failures to spawn, state changes.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server as NetServer } from 'node:net';
import { launchServer } from '../src/servers/launch.js';
import { exchange, withDeadline } from '../src/servers/net.js';
import { freePorts } from '../src/servers/ports.js';
import { makeServerDir, Server, type ServerSpec } from '../src/servers/server.js';

// Answers every connection with its directory (argv[2]): the probe's identity check.
const LISTEN =
  "require('net').createServer((s) => s.end(process.argv[2])).listen(+process.argv[1], '127.0.0.1', () => console.log('listening'))";

/** A stand-in "redis" that listens on `port` (or dies with EADDRINUSE), launched by `command`. */
function standIn(port: number, command = process.execPath): ServerSpec {
  const dataDir = makeServerDir('redis');
  return {
    kind: 'redis',
    port,
    dataDir,
    launch: () => ({ command, args: ['-e', LISTEN, String(port), dataDir], cwd: dataDir }),
    probe: async (signal) => {
      if ((await exchange({ host: '127.0.0.1', port }, '', signal)) !== dataDir) throw new Error('not our server');
    },
  };
}

const blockers: NetServer[] = [];
async function occupy(port: number): Promise<void> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}
afterAll(async () => {
  await Promise.all(blockers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('launching', () => {
  it('retries on fresh ports when a port is taken between the check and the start', async () => {
    const [taken] = (await freePorts(1)) as [number];
    await occupy(taken);
    const ports: number[] = [];
    const server = await launchServer(async () => {
      const port = ports.length === 0 ? taken : ((await freePorts(1))[0] as number);
      ports.push(port);
      return new Server(standIn(port));
    }, false);
    expect(ports).toHaveLength(2);
    expect(server.port).toBe(ports[1]);
    expect(server.state).toBe('running');
    await server.stop();
  });

  it('does not retry a fixed port: the error shows the log', async () => {
    const [taken] = (await freePorts(1)) as [number];
    await occupy(taken);
    const error = await launchServer(async () => new Server(standIn(taken)), true).catch((e: unknown) => e as Error);
    expect((error as { code?: string }).code).toBe('UNAVAILABLE');
    expect((error as Error).message).toMatch(/exited with code 1 before it was ready[\s\S]*EADDRINUSE/);
  });

  it('reports a program that cannot be spawned', async () => {
    const [port] = (await freePorts(1)) as [number];
    const error = await launchServer(async () => new Server(standIn(port, '/nonexistent/server')), false).catch(
      (e: unknown) => e as Error,
    );
    expect((error as Error).message).toMatch(/could not be started \(spawn \/nonexistent\/server ENOENT\)/);
  });

  it('tracks its state through kill, restart, pause and stop, and refuses a second start', async () => {
    const [port] = (await freePorts(1)) as [number];
    const server = await launchServer(async () => new Server(standIn(port)), true);
    await expect(server.start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await server.pause();
    expect(server.state).toBe('paused');
    await server.resume();
    await server.kill();
    expect(server.state).toBe('down');
    expect(server.pid).toBeUndefined();
    await expect(server.pause()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await server.restart();
    expect(server.state).toBe('running');
    expect(server.log()).toMatch(/listening[\s\S]*restarting redis:\d+[\s\S]*listening/);
    expect(await withDeadline(2_000, (signal) => exchange({ host: '127.0.0.1', port }, '', signal))).toBe(server.dataDir);
    await server.stop();
    expect(server.state).toBe('stopped');
    await expect(server.restart()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
