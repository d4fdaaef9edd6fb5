/**
 * Small TCP plumbing for the protocol clients of this package (4-letter words, the ZooKeeper
 * wire protocol, RESP): connect with a deadline, and read parsed messages as bytes arrive.
 * They leave no timer or socket behind once a call settles, so the conformance suite's leak
 * checks stay clean when a fault hook uses them.
 */
import { connect, type Socket } from 'node:net';

/** A host and port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Runs `fn` with a signal that aborts after `ms`; the timer is cleared when `fn` settles.
 * @throws whatever `fn` throws.
 */
export async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${ms} ms`)), ms);
  try {
    return await fn(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * A connected socket; destroyed if `signal` aborts at any time before it is closed.
 * @throws Error on a refused connection or abort.
 */
export function openSocket(endpoint: Endpoint, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted(signal));
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const onAbort = (): void => {
      socket.destroy();
      reject(aborted(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    socket.once('error', (error) => reject(error));
    socket.once('connect', () => resolve(socket));
  });
}

/** Parses one message from the front of `buffer`: its value and length, or undefined if incomplete. */
export type Parser<T> = (buffer: Buffer) => { readonly value: T; readonly used: number } | undefined;

/** Buffers a socket's input and hands out parsed messages in order. */
export class SocketReader {
  #buffer: Buffer = Buffer.alloc(0);
  #ended: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#notify();
    });
    socket.on('error', (error) => this.#end(error));
    socket.on('close', () => this.#end(new Error('connection closed by the server')));
  }

  /** Everything received, once the peer has closed (e.g. a 4-letter word answer). */
  async readToEnd(signal: AbortSignal): Promise<string> {
    while (this.#ended === undefined) await this.#next(signal);
    return this.#buffer.toString('utf8');
  }

  /**
   * The next message.
   * @throws Error if the connection closes first or `signal` aborts.
   */
  async read<T>(parse: Parser<T>, signal: AbortSignal): Promise<T> {
    for (;;) {
      const parsed = parse(this.#buffer);
      if (parsed !== undefined) {
        this.#buffer = this.#buffer.subarray(parsed.used);
        return parsed.value;
      }
      if (this.#ended !== undefined) throw this.#ended;
      await this.#next(signal);
    }
  }

  #end(error: Error): void {
    this.#ended ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(aborted(signal));
      const onAbort = (): void => reject(aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}

/**
 * Sends `request` and returns everything the server answers before it closes the connection
 * (the shape of ZooKeeper's 4-letter words).
 */
export async function exchange(endpoint: Endpoint, request: string, signal: AbortSignal): Promise<string> {
  const socket = await openSocket(endpoint, signal);
  try {
    const reader = new SocketReader(socket);
    socket.write(request);
    return await reader.readToEnd(signal);
  } finally {
    socket.destroy();
  }
}
