/**
 * One proxied connection: the accepted client socket, the upstream socket the proxy opened to
 * the target for it, and a {@link Pipe} for each direction. It ends when both sockets have
 * closed; a close, end or reset on one side reaches the other through the pipes.
 */
import { connect, type Socket } from 'node:net';
import { latencyOf, policyOf, type Direction, type Fault } from './fault.js';
import { Pipe, type PipeControl } from './pipe.js';

/** What a link asks of its proxy. */
export interface LinkControl {
  /** The fault in force now. */
  fault(): Fault;
  /** Counts a chunk discarded by the fault. */
  dropped(direction: Direction): void;
  /** Counts bytes read in `direction`. */
  received(direction: Direction, bytes: number): void;
  /** Counts a reply lost by `loseNextReply()`. */
  lostReply(): void;
}

/** An upstream target address. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** See the file comment. */
export class Link {
  /** Resolves once both sockets have closed. */
  readonly closed: Promise<void>;
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #pipes: readonly [Pipe, Pipe];
  readonly #control: LinkControl;
  #armed = false;
  #requestSent = false;
  #open = 2;

  constructor(client: Socket, target: Target, control: LinkControl) {
    this.#control = control;
    this.#client = client;
    // Opened at once, whatever the fault: the server sees the connection even during a
    // blackhole (a real partition would also lose the SYN; a userspace proxy cannot).
    this.#server = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    const pipeControl: PipeControl = {
      policy: (direction) => policyOf(control.fault(), direction),
      latency: () => latencyOf(control.fault()),
      intercept: (direction) => this.#intercept(direction),
      dropped: (direction) => control.dropped(direction),
      received: (direction, bytes) => control.received(direction, bytes),
    };
    this.#pipes = [
      new Pipe('up', client, this.#server, pipeControl),
      new Pipe('down', this.#server, client, pipeControl),
    ];
    let closed!: () => void;
    this.closed = new Promise((resolve) => (closed = resolve));
    for (const socket of [client, this.#server]) {
      socket.once('close', () => {
        this.#open -= 1;
        if (this.#open > 0) return;
        for (const pipe of this.#pipes) pipe.clear();
        closed();
      });
    }
    for (const pipe of this.#pipes) pipe.update();
  }

  /** True once both sockets have closed. */
  get isClosed(): boolean {
    return this.#open === 0;
  }

  /**
   * Applies a new fault. A direction that lost bytes cannot carry data again — TCP never
   * delivers a stream with a hole (it retransmits, or the connection dies) — so if the new
   * fault would forward such a direction, the connection is reset instead.
   * @returns true if the connection was reset.
   */
  refresh(): boolean {
    const fault = this.#control.fault();
    if (this.#pipes.some((pipe, i) => pipe.damaged && policyOf(fault, i === 0 ? 'up' : 'down') === 'forward')) {
      this.reset();
      return true;
    }
    for (const pipe of this.#pipes) pipe.update();
    return false;
  }

  /** Arms the loss of the reply to the next request (see `FaultProxy.loseNextReply`). */
  arm(): void {
    this.#armed = true;
    this.#requestSent = false;
  }

  /** Cancels {@link arm}. */
  disarm(): void {
    this.#armed = false;
  }

  /** Resets (RST) both sockets and forgets queued bytes. */
  reset(): void {
    for (const pipe of this.#pipes) pipe.clear();
    for (const socket of [this.#client, this.#server]) {
      if (socket.destroyed) continue;
      // Before the handshake there is nothing to reset, and resetAndDestroy() would wait for
      // a connect that may never come (an unreachable target). While an end() is still being
      // sent, libuv refuses the reset (EINVAL) and Node then never emits 'close', so the link
      // would never close: such a socket is only destroyed (it has sent its FIN anyway).
      if (socket.connecting || (socket.writableEnded && !socket.writableFinished)) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  /** The first server chunk after a client chunk, once armed, is the lost reply. */
  #intercept(direction: Direction): boolean {
    if (!this.#armed) return false;
    if (direction === 'up') {
      this.#requestSent = true;
      return false;
    }
    if (!this.#requestSent) return false;
    this.#armed = false;
    this.#control.lostReply();
    this.reset();
    return true;
  }
}
