/**
 * A raw TCP client that reads newline-terminated lines (RESP's `\r\n` too), with a client-side
 * deadline on every read: what a test needs to tell a reply from silence, a reset or a close.
 */
import { connect, type Socket } from 'node:net';

/** What the next read saw. */
export type Outcome =
  | { readonly line: string }
  | { readonly timeout: true }
  | { readonly error: string }
  | { readonly closed: true };

export class LineClient {
  readonly socket: Socket;
  readonly #lines: string[] = [];
  #partial = '';
  #error: string | undefined;
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const parts = (this.#partial + text).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const part of parts) this.#lines.push(part.endsWith('\r') ? part.slice(0, -1) : part);
      this.#notify();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#error = error.code ?? error.message;
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
  }

  /** Connects to `port` on `host`. */
  static open(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** Sends `text` followed by a newline. */
  send(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** Sends `text` as is. */
  write(text: string): void {
    this.socket.write(text);
  }

  /** The next line, or what happened instead within `ms`. */
  async next(ms: number): Promise<Outcome> {
    const until = performance.now() + ms;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return { line };
      if (this.#error !== undefined) return { error: this.#error };
      if (this.#ended) return { closed: true };
      const left = until - performance.now();
      if (left <= 0) return { timeout: true };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One request, one line back within `ms`. */
  async ask(text: string, ms = 5_000): Promise<Outcome> {
    this.send(text);
    return this.next(ms);
  }

  /** Destroys the socket and waits for it to close. */
  async close(): Promise<void> {
    if (!this.socket.destroyed) this.socket.destroy();
    if (!this.socket.closed) await new Promise((resolve) => this.socket.once('close', resolve));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
