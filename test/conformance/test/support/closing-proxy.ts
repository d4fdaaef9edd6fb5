// A TCP forwarder in a process of its own, for the ZooKeeper descriptor-reuse case: on `end`
// (a line on stdin) it closes every proxied connection *gracefully* (FIN, not RST), so the
// client's poll stays armed while its C client reads the end of the stream and closes the
// socket. It runs apart from the test so that its own sockets, when they close, do not free
// descriptor numbers in the test's process. Prints the port it listens on.
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const target = Number(process.argv[2]);
const open = new Set<Socket>();
const server = createServer((client) => {
  const upstream = connect(target, '127.0.0.1');
  for (const socket of [client, upstream]) {
    open.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => open.delete(socket));
  }
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'end') for (const socket of open) socket.end();
}
server.close();
for (const socket of open) socket.destroy();
