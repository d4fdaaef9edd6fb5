/**
 * The "stack store": an in-process stand-in for the database behind the Heat story. It is
 * the one place fencing tokens are enforced — a lock alone cannot stop a paused holder from
 * writing after its lease expired; a store that refuses stale tokens can.
 */

/** Outcome of a {@link StackStore.write}. */
export interface WriteResult {
  /** Whether the write was applied. */
  readonly accepted: boolean;
  /** The highest token the store had accepted before this write (`0n` at first). */
  readonly previous: bigint;
}

/** A record that accepts a write only with a fencing token above every token it has seen. */
export class StackStore {
  /** Writes applied. */
  accepted = 0;
  /** Writes refused by the fencing check. */
  rejected = 0;
  #highest = 0n;
  readonly #watchers = new Set<() => void>();

  /** The highest token accepted so far. */
  get highest(): bigint {
    return this.#highest;
  }

  /**
   * Resolves once a write with a token above `token` has been accepted, or after `ms`
   * (whichever comes first); the timer is cleared either way.
   */
  whenAbove(token: bigint, ms: number): Promise<void> {
    if (this.#highest > token) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.#highest <= token && !timedOut) return;
        clearTimeout(timer);
        this.#watchers.delete(done);
        resolve();
      };
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        done();
      }, ms);
      this.#watchers.add(done);
    });
  }

  /**
   * Applies a write if `token` is strictly greater than every token accepted so far.
   * @example
   * ```ts
   * const { accepted } = store.write(held.token);
   * ```
   */
  write(token: bigint): WriteResult {
    const previous = this.#highest;
    if (token <= previous) {
      this.rejected += 1;
      return { accepted: false, previous };
    }
    this.#highest = token;
    this.accepted += 1;
    for (const watcher of [...this.#watchers]) watcher();
    return { accepted: true, previous };
  }
}
