import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { startFaultProxy, type FaultProxy } from '../src/index.js';
import { eventually } from '../src/polling.js';
import { LineClient } from './support/line-client.js';
import { startEcho, startKv, unusedPort, type TestServer } from './support/servers.js';

/** How long a client waits before deciding it got no answer (its own deadline). */
const SILENCE_MS = 300;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server<S extends TestServer>(start: () => Promise<S>): Promise<S> {
  const started = await start();
  cleanups.push(() => started.close());
  return started;
}

async function proxyTo(target: TestServer | number): Promise<FaultProxy> {
  const port = typeof target === 'number' ? target : target.port;
  const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function client(proxy: FaultProxy | TestServer): Promise<LineClient> {
  const opened = await LineClient.open(proxy.port);
  cleanups.push(() => opened.close());
  return opened;
}

/** A client through `proxy` whose connection is known to be established end to end. */
async function liveClient(proxy: FaultProxy): Promise<LineClient> {
  const c = await client(proxy);
  expect(await c.ask('GET warmup')).toEqual({ line: 'NIL' });
  return c;
}

describe('FaultProxy: plain forwarding', () => {
  it('listens on a free loopback port and forwards both ways', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.port).not.toBe(kv.port);
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
    expect(proxy.fault).toEqual({ kind: 'none' });
    const c = await client(proxy);
    expect(await c.ask('SET a 1')).toEqual({ line: 'OK' });
    expect(await c.ask('GET a')).toEqual({ line: 'VALUE 1' });
    expect(kv.store.get('a')).toBe('1');
    expect(proxy.connections).toBe(1);
    expect(kv.sockets.size).toBe(1);
    expect(proxy.stats).toMatchObject({ accepted: 1, bytesFromClients: 14, bytesFromServer: 11 });
  });

  it('carries 8 MiB intact in both directions (flow control, no loss)', async () => {
    const proxy = await proxyTo(await server(startEcho));
    const sent = randomBytes(8 << 20);
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    cleanups.push(async () => void socket.destroy());
    const received = createHash('sha256');
    let length = 0;
    socket.on('data', (chunk: Buffer) => {
      received.update(chunk);
      length += chunk.length;
    });
    socket.end(sent);
    await new Promise((resolve) => socket.on('end', resolve));
    expect(length).toBe(sent.length);
    expect(received.digest('hex')).toBe(createHash('sha256').update(sent).digest('hex'));
  });

  it('passes a half-close on and closes the connection when both sides are done', async () => {
    const echo = await server(startEcho);
    const proxy = await proxyTo(echo);
    const c = await client(proxy);
    c.socket.end('last words\n');
    expect(await c.next(5_000)).toEqual({ line: 'last words' }); // the server still answered after our FIN
    expect(await c.next(5_000)).toEqual({ closed: true });
    await eventually(() => proxy.connections === 0 && echo.sockets.size === 0, 'both sockets closed');
  });

  it('closes the client side when the server closes', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const c = await client(proxy);
    c.send('QUIT');
    expect(await c.next(5_000)).toEqual({ closed: true });
    await eventually(() => proxy.connections === 0, 'the connection is gone');
  });

  it('resets the client when the target refuses the connection', async () => {
    const proxy = await proxyTo(await unusedPort());
    const c = await client(proxy); // the proxy itself accepts...
    c.send('GET a');
    expect(await c.next(5_000)).toEqual({ error: 'ECONNRESET' }); // ...then passes the refusal on
    await eventually(() => proxy.connections === 0, 'the connection is gone');
  });

  it('rejects bad arguments', async () => {
    await expect(startFaultProxy({ target: { host: '127.0.0.1', port: 0 } })).rejects.toThrow(RangeError);
    await expect(startFaultProxy({ target: { host: '', port: 1 } })).rejects.toThrow(RangeError);
    const proxy = await proxyTo(await server(startEcho));
    expect(() => proxy.delay(-1)).toThrow(RangeError);
    expect(() => proxy.delay(Number.NaN)).toThrow(RangeError);
    expect(proxy.fault).toEqual({ kind: 'none' });
  });
});

describe('FaultProxy: blackhole()', () => {
  it('makes a raw client time out, with nothing reaching the server, on old and new connections', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const old = await liveClient(proxy);
    proxy.blackhole();
    expect(await old.ask('SET x 1', SILENCE_MS)).toEqual({ timeout: true });
    const fresh = await client(proxy); // still accepted
    expect(await fresh.ask('SET y 1', SILENCE_MS)).toEqual({ timeout: true });
    expect(kv.store.has('x') || kv.store.has('y')).toBe(false);
    expect(proxy.connections).toBe(2); // silence, not a reset
    expect(proxy.stats.droppedUp).toBeGreaterThanOrEqual(2);
  });

  it('also swallows the server closing: the client learns nothing until heal()', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const c = await liveClient(proxy);
    proxy.blackhole();
    for (const socket of kv.sockets) socket.end();
    expect(await c.next(SILENCE_MS)).toEqual({ timeout: true });
    proxy.heal();
    expect(await c.next(5_000)).toEqual({ error: 'ECONNRESET' });
  });

  it('heal(): idle connections carry on, those that lost bytes are reset, new ones work', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const idle = await liveClient(proxy);
    const talker = await liveClient(proxy);
    proxy.blackhole();
    expect(await talker.ask('SET lost 1', SILENCE_MS)).toEqual({ timeout: true });
    proxy.heal();
    expect(proxy.fault).toEqual({ kind: 'none' });
    expect(await talker.next(5_000)).toEqual({ error: 'ECONNRESET' }); // never a reply to the wrong request
    expect(await idle.ask('SET kept 1')).toEqual({ line: 'OK' });
    expect(await (await client(proxy)).ask('GET kept')).toEqual({ line: 'VALUE 1' });
    expect(kv.store.has('lost')).toBe(false); // not replayed
    expect(proxy.stats.resets).toBe(1);
  });
});

describe('FaultProxy: dropReplies()', () => {
  it('lets the write happen on the server while the client sees no answer', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const c = await liveClient(proxy);
    proxy.dropReplies();
    expect(await c.ask('SET k v', SILENCE_MS)).toEqual({ timeout: true });
    const direct = await client(kv);
    expect(await direct.ask('GET k')).toEqual({ line: 'VALUE v' });
    expect(proxy.stats.droppedDown).toBeGreaterThanOrEqual(1);
    proxy.heal();
    expect(await c.next(5_000)).toEqual({ error: 'ECONNRESET' });
    expect(await (await client(proxy)).ask('GET k')).toEqual({ line: 'VALUE v' });
  });
});

describe('FaultProxy: loseNextReply()', () => {
  it('loses the reply to the next request of each live connection, resets it, and heals by itself', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const watcher = await liveClient(proxy);
    expect(await watcher.ask('WATCH x')).toEqual({ line: 'OK' });
    const writer = await liveClient(proxy);
    expect(proxy.loseNextReply()).toBe(2);

    const later = await client(proxy); // opened after arming: unaffected
    expect(await later.ask('SET x 1')).toEqual({ line: 'OK' });
    expect(await watcher.next(5_000)).toEqual({ line: 'CHANGED x' }); // a push is not a reply

    writer.send('SET y 2');
    expect(await writer.next(5_000)).toEqual({ error: 'ECONNRESET' });
    expect(kv.store.get('y')).toBe('2'); // the request took effect
    expect(await watcher.ask('GET x')).toEqual({ error: 'ECONNRESET' });
    expect(proxy.stats).toMatchObject({ lostReplies: 2, resets: 2 });

    const reconnected = await client(proxy);
    expect(await reconnected.ask('GET y')).toEqual({ line: 'VALUE 2' });
    expect(await later.ask('GET y')).toEqual({ line: 'VALUE 2' });
    expect(proxy.fault).toEqual({ kind: 'none' });
  });

  it('returns 0 with no live connection, and heal() disarms', async () => {
    const proxy = await proxyTo(await server(startKv));
    expect(proxy.loseNextReply()).toBe(0);
    const c = await liveClient(proxy);
    expect(proxy.loseNextReply()).toBe(1);
    proxy.heal();
    expect(await c.ask('SET z 1')).toEqual({ line: 'OK' });
    expect(proxy.stats.lostReplies).toBe(0);
  });
});

describe('FaultProxy: partition()', () => {
  it('holds bytes without loss and delivers them in order on heal()', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const old = await liveClient(proxy);
    proxy.partition();
    old.send('SET p 1');
    old.send('GET p');
    const fresh = await client(proxy);
    fresh.send('GET p');
    expect(await old.next(SILENCE_MS)).toEqual({ timeout: true });
    expect(await fresh.next(1)).toEqual({ timeout: true });
    expect(kv.store.has('p')).toBe(false);
    proxy.heal();
    expect(await old.next(5_000)).toEqual({ line: 'OK' });
    expect(await old.next(5_000)).toEqual({ line: 'VALUE 1' });
    expect((await fresh.next(5_000)).hasOwnProperty('line')).toBe(true); // before or after the SET: no order between connections
    expect(proxy.stats.resets).toBe(0);
  });
});

describe('FaultProxy: delay()', () => {
  it('adds latency in both directions', async () => {
    const proxy = await proxyTo(await server(startEcho));
    const c = await client(proxy);
    proxy.delay(100);
    expect(proxy.fault).toEqual({ kind: 'delay', ms: 100 });
    const started = performance.now();
    expect(await c.ask('ping')).toEqual({ line: 'ping' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195); // 100 up + 100 down
  });

  it('never reorders bytes, even when the delay is lowered mid-stream', async () => {
    const proxy = await proxyTo(await server(startEcho));
    const c = await client(proxy);
    proxy.delay(300);
    const started = performance.now();
    const early = Array.from({ length: 20 }, (_, i) => `early ${i}`);
    c.write(early.map((line) => `${line}\n`).join(''));
    const bytes = early.join('\n').length + 1;
    await eventually(() => proxy.stats.bytesFromClients === bytes, 'the proxy has read the early lines');
    proxy.heal();
    const late = Array.from({ length: 20 }, (_, i) => `late ${i}`);
    for (const line of late) c.send(line);
    const lines: string[] = [];
    for (let i = 0; i < early.length + late.length; i += 1) {
      const outcome = await c.next(5_000);
      if (!('line' in outcome)) throw new Error(`expected a line, got ${JSON.stringify(outcome)}`);
      lines.push(outcome.line);
      if (i === 0) expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    }
    expect(lines).toEqual([...early, ...late]);
  });
});

describe('FaultProxy: reset()', () => {
  it('gives every live client ECONNRESET, closes the server side, and keeps accepting', async () => {
    const kv = await server(startKv);
    const proxy = await proxyTo(kv);
    const a = await liveClient(proxy);
    const b = await liveClient(proxy);
    proxy.delay(5);
    expect(proxy.reset()).toBe(2);
    expect(await a.next(5_000)).toEqual({ error: 'ECONNRESET' });
    expect(await b.ask('GET a')).toEqual({ error: 'ECONNRESET' });
    await eventually(() => kv.sockets.size === 0 && proxy.connections === 0, 'server side closed');
    expect(proxy.fault).toEqual({ kind: 'delay', ms: 5 }); // an action, not a mode
    expect(await (await client(proxy)).ask('SET after 1')).toEqual({ line: 'OK' });
  });
});

describe('FaultProxy: close()', () => {
  const tracked = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
  const census = (): Record<string, number> => {
    const counts: Record<string, number> = Object.fromEntries(tracked.map((name) => [name, 0]));
    for (const name of process.getActiveResourcesInfo()) if (name in counts) counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  };

  it('releases every socket and timer, even with delayed bytes in flight', async () => {
    const before = census();
    const echo = await startEcho();
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
    const idle = await LineClient.open(proxy.port);
    const busy = await LineClient.open(proxy.port);
    proxy.delay(10_000);
    busy.send('in flight'); // a delay timer is now pending
    await eventually(() => proxy.stats.bytesFromClients > 0 && echo.sockets.size === 2, 'traffic in flight');

    const closing = proxy.close();
    expect(proxy.close()).toBe(closing); // idempotent
    await closing;
    expect(proxy.connections).toBe(0);
    expect(await idle.next(5_000)).toEqual({ error: 'ECONNRESET' });
    expect(await busy.next(5_000)).toEqual({ error: 'ECONNRESET' });
    await eventually(() => echo.sockets.size === 0, 'the server saw its connections close');
    const refused = await new Promise((resolve) => connect({ port: proxy.port, host: '127.0.0.1' }).on('error', resolve));
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    proxy.blackhole(); // no-op once closed
    expect(proxy.fault).toEqual({ kind: 'delay', ms: 10_000 });

    await Promise.all([idle.close(), busy.close(), echo.close()]);
    await eventually(() => tracked.every((name) => (census()[name] ?? 0) <= (before[name] ?? 0)), 'no socket or timer left');
  });

  it('is what `await using` calls', async () => {
    const echo = await server(startEcho);
    let port = 0;
    {
      await using proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
      port = proxy.port;
    }
    const refused = await new Promise((resolve) => connect({ port, host: '127.0.0.1' }).on('error', resolve));
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
  });
});
