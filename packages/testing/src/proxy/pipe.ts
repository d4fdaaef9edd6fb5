/**
 * One direction of a proxied connection: reads chunks from a source socket and writes them to
 * a sink socket, in order, applying the proxy's current fault to each chunk at the moment it
 * would leave (so a fault applies to bytes already queued by `delay`, as it would to packets
 * still in flight). The end of the stream (FIN) and a reset (RST) travel through the same queue,
 * so they never overtake data and are subject to the same fault.
 */
import type { Socket } from 'node:net';
import type { Direction, Policy } from './fault.js';

/** What a pipe asks of the connection it belongs to. */
export interface PipeControl {
  /** The current policy for `direction`. */
  policy(direction: Direction): Policy;
  /** The current latency in ms. */
  latency(): number;
  /** Counts bytes read from the source. */
  received(direction: Direction, bytes: number): void;
  /** Sees every chunk about to be written; `true` means the connection took it (a lost reply). */
  intercept(direction: Direction): boolean;
  /** Counts a chunk, end or reset discarded by the fault. */
  dropped(direction: Direction): void;
}

type Item = { readonly due: number } & (
  | { readonly kind: 'data'; readonly chunk: Buffer }
  | { readonly kind: 'end' }
  | { readonly kind: 'reset' }
);

/** Queued bytes above which the source stops being read (delay must not buffer without bound). */
const HIGH_WATER = 1 << 20;

/** See the file comment. */
export class Pipe {
  readonly #direction: Direction;
  readonly #source: Socket;
  readonly #sink: Socket;
  readonly #control: PipeControl;
  #queue: Item[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #sinkFull = false;
  #damaged = false;
  #cleared = false;

  constructor(direction: Direction, source: Socket, sink: Socket, control: PipeControl) {
    this.#direction = direction;
    this.#source = source;
    this.#sink = sink;
    this.#control = control;
    source.on('data', (chunk: Buffer) => {
      control.received(direction, chunk.length);
      this.#push({ kind: 'data', chunk, due: this.#due() });
    });
    source.on('end', () => this.#push({ kind: 'end', due: this.#due() }));
    // The listener also keeps a reset peer from becoming an uncaught 'error'.
    source.on('error', () => this.#push({ kind: 'reset', due: this.#due() }));
    sink.on('drain', () => {
      this.#sinkFull = false;
      this.update();
    });
  }

  /** True once this direction has discarded anything: its byte stream has a hole. */
  get damaged(): boolean {
    return this.#damaged;
  }

  /** Re-applies the current policy: delivers what is due, pauses or resumes reading. */
  update(): void {
    if (this.#cleared) return;
    this.#pump();
    this.#updateFlow();
  }

  /** Stops for good: forgets queued items and clears the timer (the connection is gone). */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  /** When a chunk read now may leave. The queue is FIFO and only its head is waited for, so a
   * chunk never overtakes an earlier one, even when the latency was lowered in between. */
  #due(): number {
    return performance.now() + this.#control.latency();
  }

  #push(item: Item): void {
    if (this.#cleared) return;
    this.#queue.push(item);
    if (item.kind === 'data') this.#queuedBytes += item.chunk.length;
    this.update();
  }

  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let head = this.#queue[0]; head !== undefined && !this.#cleared; head = this.#queue[0]) {
      const policy = this.#control.policy(this.#direction);
      if (policy === 'stall' || (policy === 'forward' && this.#sinkFull)) return;
      const wait = head.due - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => this.update(), Math.ceil(wait));
        return;
      }
      this.#queue.shift();
      if (head.kind === 'data') this.#queuedBytes -= head.chunk.length;
      this.#deliver(head, policy);
    }
  }

  #deliver(item: Item, policy: 'forward' | 'drop'): void {
    if (policy === 'drop') {
      this.#damaged = true;
      this.#control.dropped(this.#direction);
      return;
    }
    if (this.#sink.destroyed) return;
    switch (item.kind) {
      case 'data':
        if (this.#control.intercept(this.#direction)) return;
        if (!this.#sink.write(item.chunk)) this.#sinkFull = true;
        return;
      case 'end':
        this.#sink.end();
        return;
      case 'reset':
        this.#sink.resetAndDestroy();
        return;
    }
  }

  /** Reading stops while stalled or backed up, so the kernel's buffers (and TCP) hold the rest. */
  #updateFlow(): void {
    if (this.#cleared || this.#source.destroyed) return;
    const stalled = this.#control.policy(this.#direction) === 'stall';
    if (stalled || this.#sinkFull || this.#queuedBytes >= HIGH_WATER) this.#source.pause();
    else this.#source.resume();
  }
}
