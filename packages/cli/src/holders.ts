/**
 * Watches the one invariant a lock promises: never two holders at once. A holder enters
 * when its acquire returns and leaves when it releases — or, for a crashed holder, when its
 * lease's signal aborts, because that is the moment the lock may be given to someone else.
 */

/** Records who holds the lock and every overlap. */
export class HolderMonitor {
  /** Descriptions of overlaps seen (empty in a correct run). */
  readonly violations: string[] = [];
  #holder: string | undefined;

  /** `who` was granted the lock; an overlap is recorded if someone still holds it. */
  enter(who: string): void {
    if (this.#holder !== undefined) {
      this.violations.push(`${who} was granted the lock while ${this.#holder} still held it`);
    }
    this.#holder = who;
  }

  /** `who` no longer holds the lock (released, or its lease may be lost). */
  leave(who: string): void {
    if (this.#holder === who) this.#holder = undefined;
  }
}
