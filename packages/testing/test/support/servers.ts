/**
 * Tiny real TCP servers for the proxy's tests: an echo server, and a line-based key/value
 * server whose state the test can inspect directly (so "the write happened on the server"
 * is checked, not assumed).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TestServer {
  readonly port: number;
  /** Server-side sockets still open. */
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<TestServer> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a reset from the proxy is expected in these tests
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Echoes every byte; ends its side when the client ends. */
export function startEcho(): Promise<TestServer> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => socket.pipe(socket));
  return listen(server, new Set());
}

/** A key/value server with a store the test reads directly. */
export interface KvServer extends TestServer {
  readonly store: Map<string, string>;
}

/**
 * One command per line: `SET k v` → `OK`; `GET k` → `VALUE v` or `NIL`; `WATCH k` → `OK`, then
 * an unsolicited `CHANGED k` line each time another connection sets `k`; `QUIT` → the server
 * closes the connection.
 */
export async function startKv(): Promise<KvServer> {
  const store = new Map<string, string>();
  const watchers = new Map<string, Set<Socket>>();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    let partial = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) apply(socket, line.split(' '));
    });
    socket.on('close', () => {
      for (const set of watchers.values()) set.delete(socket);
    });
  });
  function apply(socket: Socket, [command, key = '', value = '']: string[]): void {
    if (command === 'SET') {
      store.set(key, value);
      socket.write('OK\n');
      for (const watcher of watchers.get(key) ?? []) if (watcher !== socket) watcher.write(`CHANGED ${key}\n`);
    } else if (command === 'GET') {
      const found = store.get(key);
      socket.write(found === undefined ? 'NIL\n' : `VALUE ${found}\n`);
    } else if (command === 'WATCH') {
      watchers.set(key, (watchers.get(key) ?? new Set()).add(socket));
      socket.write('OK\n');
    } else if (command === 'QUIT') {
      socket.end();
    } else {
      socket.write(`ERR unknown ${command}\n`);
    }
  }
  return { ...(await listen(server, sockets)), store };
}

/** A loopback port with nothing listening on it (briefly bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
