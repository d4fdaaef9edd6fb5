/**
 * Barrier (Curator's DistributedBarrier): while the barrier is raised, `wait()` blocks;
 * lowering it releases every waiter at once.
 *
 * Protocol: the barrier is raised exactly while the node `<path>/raised` exists. `raise()`
 * creates it (one request; `NODE_EXISTS` means it is raised already, so raising is
 * idempotent and keeps the existing raise), `lower()` deletes it (one request; a no-op when
 * it is not raised), `isRaised()` reads it. The barrier's own path is never created: it is
 * only the implied parent of that one node, so the recipe never reads a directory it did not
 * create. A waiter reads `<path>/raised` with a watch, and after every wake-up reads it again
 * until it is gone; an unraised barrier costs one read. Lowering wakes every waiter — that
 * broadcast is the point of a barrier, so no predecessor chain applies here.
 *
 * Session loss: `raise({ ephemeral: true })` binds the raise to the raiser's session, so a
 * raiser that dies lowers the barrier rather than blocking everyone forever; a plain raise
 * survives its raiser. A waiter holds nothing: its wait is not bound to its session (the
 * watch wakes and the re-read goes through the coordinator's fresh session). A waiter that
 * times out or is aborted cancels its watch before it rejects, so it leaves nothing behind.
 */
import {
  EMPTY,
  callSignal,
  checkOptionalBoolean,
  checkOptionsObject,
  checkPath,
  checkWaitOptions,
  startWait,
  isCoordError,
  joinPath,
  type Driver,
  type WaitOptions,
} from '@coord/core';
import { whenChanged } from './internal/wait-turn.js';

/** Options of {@link Barrier.raise}. */
export interface RaiseOptions {
  /** Tie the raise to this coordinator's session: the barrier lowers when the session ends. */
  readonly ephemeral?: boolean;
}

/** A barrier: what `coord.barrier(path)` returns. Creating one does no I/O. */
export interface Barrier {
  /** The barrier's path. */
  readonly path: string;
  /**
   * Raises the barrier. Raising a raised barrier changes nothing (not even whether the
   * existing raise is ephemeral) and returns `false`.
   * @example `await coord.barrier('/deploy/freeze').raise({ ephemeral: true })`
   * @returns whether this call raised it.
   * @throws CoordError `SESSION_EXPIRED`, `CLOSED`.
   */
  raise(options?: RaiseOptions): Promise<boolean>;
  /**
   * Lowers the barrier, whoever raised it, releasing every waiter. Lowering a barrier that
   * is not raised is a no-op and returns `false`.
   * @returns whether the barrier was raised.
   * @throws CoordError `CLOSED`.
   */
  lower(): Promise<boolean>;
  /**
   * Resolves once the barrier is not raised (at once if it is not).
   * @example `await coord.barrier('/deploy/freeze').wait({ timeout: 60_000 })`
   * @throws CoordError `TIMEOUT`, `ABORTED`, `CLOSED`.
   */
  wait(options?: WaitOptions): Promise<void>;
  /**
   * Whether the barrier is raised right now.
   * @throws CoordError `CLOSED`.
   */
  isRaised(): Promise<boolean>;
}

/** The node whose existence is the raised state. */
const RAISED = 'raised';

/** A {@link Barrier} represented by one node. */
export class BarrierRecipe implements Barrier {
  readonly path: string;
  readonly #driver: Driver;
  readonly #node: string;
  readonly #what: string;

  /**
   * @param driver the driver to use
   * @param path the barrier's directory (the barrier owns its subtree)
   * @throws CoordError `INVALID_ARGUMENT` for a malformed, reserved or too long path.
   */
  constructor(driver: Driver, path: string) {
    this.path = checkPath(path, 'barrier path', `/${RAISED}`.length);
    this.#driver = driver;
    this.#node = joinPath(path, RAISED);
    this.#what = `barrier ${path}`;
  }

  async raise(options?: RaiseOptions): Promise<boolean> {
    const ephemeral = checkOptionalBoolean(checkOptionsObject(options, this.#what).ephemeral, this.#what, 'ephemeral');
    try {
      await this.#driver.create(this.#node, EMPTY, { ephemeral });
      return true;
    } catch (error) {
      // Raised already (by anyone, or by this very call whose first reply was lost).
      if (isCoordError(error, 'NODE_EXISTS')) return false;
      throw error;
    }
  }

  lower(): Promise<boolean> {
    return this.#driver.delete(this.#node);
  }

  async isRaised(): Promise<boolean> {
    return (await this.#driver.get(this.#node)).node !== undefined;
  }

  async wait(options?: WaitOptions): Promise<void> {
    const startedAt = startWait(options, this.#what);
    options = checkWaitOptions(options, this.#what);
    using call = callSignal({ ...options, startedAt }, this.#what);
    // Every read's watch is cancelled when its wait ends, including the one armed on a
    // missing node (it would otherwise wait for a raise).
    while (await whenChanged(this.#driver, this.#node, call.signal, this.#what)) {
      // The watch fired (lowered, maybe raised again, or a session change): read again.
    }
  }
}
