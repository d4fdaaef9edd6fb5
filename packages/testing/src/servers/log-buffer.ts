/**
 * A server's captured output (stdout and stderr, interleaved as they arrive), bounded so a
 * chatty server cannot grow the test process: only the newest `limit` bytes are kept.
 */

/** Default number of bytes of output kept per server. */
export const DEFAULT_LOG_LIMIT = 512 * 1024;

/** The newest bytes of a stream of output. */
export class LogBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;

  /** @param limit bytes kept; older output is dropped (and counted). */
  constructor(limit = DEFAULT_LOG_LIMIT) {
    this.#limit = Math.max(1024, limit);
  }

  /** Appends a chunk of output. */
  append(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#chunks.push(buffer);
    this.#size += buffer.length;
    while (this.#size > this.#limit && this.#chunks.length > 1) {
      const first = this.#chunks.shift() as Buffer;
      this.#size -= first.length;
      this.#dropped += first.length;
    }
  }

  /** Everything kept, with a note of how much was dropped before it. */
  text(): string {
    const note = this.#dropped > 0 ? `[... ${this.#dropped} earlier bytes dropped ...]\n` : '';
    return note + Buffer.concat(this.#chunks).toString('utf8');
  }

  /** The last `lines` lines (for error messages). */
  tail(lines = 40): string {
    const all = Buffer.concat(this.#chunks).toString('utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  }
}
