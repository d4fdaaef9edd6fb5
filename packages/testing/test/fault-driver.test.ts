// FaultDriver over a small recording driver (no server, no memory driver): each fault mode
// once, checking both what the caller sees and whether the request reached the inner driver.
import { describe, expect, it } from '@jest/globals';
import type {
  Capabilities,
  ChildrenResult,
  Driver,
  GetResult,
  NodeRef,
  SequentialCreated,
  Session,
  SessionStateChange,
  VersionOptions,
} from '@coord/core';
import { FaultDriver, connectionLoss, eventually, faultOnce, rejectedCoordError, unavailable } from '../src/index.js';

/** A flat map of nodes that logs every request it applies. Enough for a pass-through wrapper. */
class RecordingDriver implements Driver {
  readonly name = 'memory';
  readonly capabilities: Capabilities = { linearizable: true, tokensSurviveFailover: true };
  readonly session: Session = { id: 's1', ttlMs: 1_000, state: 'connected', signal: new AbortController().signal };
  readonly applied: string[] = [];
  readonly nodes = new Map<string, { data: Uint8Array; token: bigint }>();
  listeners = 0;
  closed = false;
  #token = 0n;

  async create(path: string, data: Uint8Array): Promise<NodeRef> {
    this.applied.push(`create ${path}`);
    this.#token += 1n;
    this.nodes.set(path, { data, token: this.#token });
    return { path, name: path.slice(path.lastIndexOf('/') + 1), seq: 0n, token: this.#token };
  }

  async createSequential(dir: string, prefix: string, data: Uint8Array): Promise<SequentialCreated> {
    const node = await this.create(`${dir}/${prefix}${this.#token + 1n}`, data);
    return { node, siblings: [node] };
  }

  async get(path: string): Promise<GetResult> {
    this.applied.push(`get ${path}`);
    const node = this.nodes.get(path);
    return node === undefined ? {} : { node: { path, data: node.data, version: 0 } };
  }

  async children(dir: string): Promise<ChildrenResult> {
    this.applied.push(`children ${dir}`);
    return { nodes: [] };
  }

  async set(path: string): Promise<number> {
    this.applied.push(`set ${path}`);
    return 1;
  }

  async delete(path: string, options?: VersionOptions): Promise<boolean> {
    this.applied.push(`delete ${path}`);
    const node = this.nodes.get(path);
    if (node === undefined || (options?.token !== undefined && options.token !== node.token)) return false;
    return this.nodes.delete(path);
  }

  onSessionState(_listener: (change: SessionStateChange) => void): () => void {
    this.listeners += 1;
    return () => (this.listeners -= 1);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const bytes = new Uint8Array([1]);

/** A hold hook for `method` and the function that lets the held request go. */
function gate(method: string): { hook: (m: string) => Promise<void> | undefined; held: () => boolean; release: () => void } {
  let release: (() => void) | undefined;
  return {
    hook: (m) => (m === method ? new Promise<void>((resolve) => (release = resolve)) : undefined),
    held: () => release !== undefined,
    release: () => release?.(),
  };
}

describe('FaultDriver', () => {
  it('without faults passes requests, session and lifecycle through', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner);
    expect(driver.inner).toBe(inner);
    expect([driver.name, driver.capabilities, driver.session]).toEqual([inner.name, inner.capabilities, inner.session]);
    const created = await driver.createSequential('/q', 'n-', bytes);
    expect(created.node.path).toBe('/q/n-1');
    expect((await driver.get('/q/n-1')).node?.data).toEqual(bytes);
    expect(await driver.children('/q')).toEqual({ nodes: [] });
    expect(await driver.set('/q/n-1', bytes)).toBe(1);
    expect(await driver.delete('/q/n-1')).toBe(true);
    expect(inner.applied).toEqual(['create /q/n-1', 'get /q/n-1', 'children /q', 'set /q/n-1', 'delete /q/n-1']);
    const unsubscribe = driver.onSessionState(() => undefined);
    expect(inner.listeners).toBe(1);
    unsubscribe();
    expect(inner.listeners).toBe(0);
    await driver.close();
    expect(inner.closed).toBe(true);
  });

  it('fail: rejects without applying the request', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner, { fail: (method, path) => (method === 'create' && path === '/a' ? unavailable() : undefined) });
    expect((await rejectedCoordError(driver.create('/a', bytes))).code).toBe('UNAVAILABLE');
    await driver.create('/b', bytes);
    expect(inner.applied).toEqual(['create /b']);
  });

  it('loseReply: applies the request, then rejects', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner, { loseReply: (method) => (method === 'set' ? connectionLoss() : undefined) });
    expect((await rejectedCoordError(driver.set('/a', bytes))).code).toBe('CONNECTION_LOSS');
    expect(inner.applied).toEqual(['set /a']);
  });

  it('holdBefore: sends the request only once released', async () => {
    const inner = new RecordingDriver();
    const hold = gate('create');
    const driver = new FaultDriver(inner, { holdBefore: hold.hook });
    const creating = driver.create('/a', bytes);
    await eventually(hold.held, 'create held');
    await driver.get('/a'); // other requests are not held
    expect(inner.applied).toEqual(['get /a']);
    hold.release();
    expect((await creating).path).toBe('/a');
    expect(inner.applied).toEqual(['get /a', 'create /a']);
  });

  it('holdAfter: applies the request, and answers only once released', async () => {
    const inner = new RecordingDriver();
    const hold = gate('create');
    const driver = new FaultDriver(inner, { holdAfter: hold.hook });
    let answered = false;
    const creating = driver.create('/a', bytes).then((node) => ((answered = true), node));
    await eventually(hold.held, 'reply held');
    expect(inner.applied).toEqual(['create /a']);
    expect(answered).toBe(false);
    hold.release();
    expect((await creating).path).toBe('/a');
  });

  it('loseDeleteReply: without a token, the delete is applied and reported as CONNECTION_LOSS', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner, { loseDeleteReply: () => 0 });
    await driver.create('/a', bytes);
    expect((await rejectedCoordError(driver.delete('/a'))).code).toBe('CONNECTION_LOSS');
    expect(inner.applied).toEqual(['create /a', 'delete /a']);
    expect(inner.nodes.has('/a')).toBe(false);
  });

  it('loseDeleteReply: with a token, the delete is repeated and the repeat answers', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner, { loseDeleteReply: (path) => (path === '/a' ? 1 : undefined) });
    const { token } = await driver.create('/a', bytes);
    // The first delete removed the node; the repeat finds it gone and says so.
    expect(await driver.delete('/a', { token })).toBe(false);
    expect(inner.applied).toEqual(['create /a', 'delete /a', 'delete /a']);
  });

  it('faults can be swapped while the driver is in use; faultOnce fires for the first match only', async () => {
    const inner = new RecordingDriver();
    const driver = new FaultDriver(inner);
    await driver.get('/a');
    driver.faults = { fail: faultOnce((method) => method === 'get', unavailable) };
    expect((await rejectedCoordError(driver.get('/a'))).code).toBe('UNAVAILABLE');
    expect(await driver.get('/a')).toEqual({});
    expect(inner.applied).toEqual(['get /a', 'get /a']);
  });
});
