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
    return { accepted: true, previous };
  }
}
