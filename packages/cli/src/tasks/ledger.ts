/**
 * The system of record behind the master/worker story: which tasks exist, which the master
 * has handed out, and which a worker has finished. It stands in for the database a real
 * master reads its backlog from. Delivery through the queue is at-least-once, so finishing
 * is idempotent here: a task finished twice (a redelivery after a crash) is recorded, not
 * applied twice.
 */

/** What happened when a worker reported a task finished. */
export type Completion = 'done' | 'already-done';

/** The backlog of `total` tasks, numbered from 1. */
export class TaskLedger {
  /** How many tasks there are. */
  readonly total: number;
  /** Tasks finished a second time (redeliveries of work that had been done). */
  readonly repeats: number[] = [];
  /** Deliveries of a task that had been delivered before (after a crash or a nack). */
  readonly redeliveries: number[] = [];
  readonly #dispatched = new Set<number>();
  readonly #delivered = new Set<number>();
  readonly #doneBy = new Map<number, string>();
  readonly #waiters = new Set<() => void>();

  /** @param total number of tasks (1..total) */
  constructor(total: number) {
    this.total = total;
  }

  /** The lowest task no master has handed out yet, or `undefined` when all have been. */
  nextUndispatched(): number | undefined {
    for (let task = 1; task <= this.total; task += 1) {
      if (!this.#dispatched.has(task)) return task;
    }
    return undefined;
  }

  /** Records that `task` was put on the queue. */
  markDispatched(task: number): void {
    this.#dispatched.add(task);
  }

  /** Records that a worker received `task`; returns whether it had been delivered before. */
  markDelivered(task: number): boolean {
    const again = this.#delivered.has(task);
    if (again) this.redeliveries.push(task);
    this.#delivered.add(task);
    return again;
  }

  /** Records that `engine` finished `task`; a second finish is a repeat, not a new result. */
  complete(task: number, engine: string): Completion {
    if (this.#doneBy.has(task)) {
      this.repeats.push(task);
      return 'already-done';
    }
    this.#doneBy.set(task, engine);
    if (this.allDone) for (const wake of this.#waiters) wake();
    return 'done';
  }

  /** Tasks finished so far. */
  get doneCount(): number {
    return this.#doneBy.size;
  }

  /** Whether every task has been finished. */
  get allDone(): boolean {
    return this.#doneBy.size === this.total;
  }

  /** Who finished each task, in task order. */
  results(): Array<[task: number, engine: string]> {
    return [...this.#doneBy].sort(([a], [b]) => a - b);
  }

  /** Resolves once every task is finished, or rejects when `signal` aborts. */
  whenAllDone(signal: AbortSignal): Promise<void> {
    if (this.allDone) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.#waiters.delete(finish);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiters.delete(finish);
        reject(signal.reason);
      };
      this.#waiters.add(finish);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
