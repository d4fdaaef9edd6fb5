/**
 * The group watch: events pushed by watches, never by polling. It watches the marker (is
 * the group still there?), the member list (who came and went?) and every known member's
 * node (updates, and a leave-and-join between two listings). Each watch is armed by the read
 * it belongs to, so no change falls between a read and its watch; a firing only marks what
 * to re-read, and the events are the differences between successive reads. Every armed
 * watch has its own AbortController: re-reading a node cancels its previous watch, a member
 * found gone drops its watch, and stopping cancels them all.
 */
import { CoordError, isCoordError, joinPath, onAbort, sleep, throwIfAborted, type Codec, type Driver, type WatchEvent } from '@coord/core';
import { decodeMember, markerId, type MemberRecord } from './group-nodes.js';

/** A change seen by {@link Group.watch}. */
export interface GroupEvent<T> {
  readonly type: 'join' | 'leave' | 'update';
  /** The member id. */
  readonly member: string;
  /** The member's capabilities (for `leave`, the last ones seen). */
  readonly capabilities: T;
}

/** What a watch works on. */
export interface WatchContext<T> {
  readonly driver: Driver;
  /** The group's marker, which is also the members' directory. */
  readonly path: string;
  readonly codec: Codec<T>;
  /** For messages: `group workers`. */
  readonly what: string;
}

/** What the watch last read of a member, and the watch armed by that read. */
interface Known<T> extends MemberRecord<T> {
  readonly watch: AbortController;
}

/** Pause before reading again after a transient failure (or while a session is replaced). */
const RETRY_MS = 200;

/**
 * Yields the group's events until `signal` aborts (then it returns) or the group goes
 * (then it throws `GROUP_NOT_FOUND`). Breaking out of the loop cancels every watch.
 */
export async function* watchGroup<T>(context: WatchContext<T>, signal: AbortSignal | undefined): AsyncGenerator<GroupEvent<T>, void, undefined> {
  if (signal?.aborted) return;
  const watcher = new GroupWatcher(context);
  const stop = (): void => watcher.stop();
  const detach = signal === undefined ? undefined : onAbort(signal, stop);
  try {
    await watcher.start();
    for (;;) {
      for (let event = watcher.take(); event !== undefined; event = watcher.take()) {
        if (watcher.stopped) return;
        yield event;
      }
      watcher.throwIfFailed();
      await watcher.next();
    }
  } catch (error) {
    if (!watcher.stopped) throw error; // a stop (the user's signal) ends the loop quietly
  } finally {
    detach?.();
    watcher.stop();
  }
}

/** The state behind one `watch()`: what it knows, what fired, what is armed. */
class GroupWatcher<T> {
  readonly #context: WatchContext<T>;
  readonly #known = new Map<string, Known<T>>();
  readonly #events: GroupEvent<T>[] = [];
  readonly #stop = new AbortController();
  /** Watches armed and not yet fired or dropped. */
  readonly #armed = new Set<AbortController>();
  #markerWatch: AbortController | undefined;
  #childrenWatch: AbortController | undefined;
  /** The marker's incarnation: another one means the group was deleted and made again. */
  #incarnation: string | undefined;
  /** What fired since the last round. */
  #all = false;
  #markerFired = false;
  #childrenFired = false;
  readonly #membersFired = new Set<string>();
  #wake: (() => void) | undefined;
  /** A final error, thrown once the events before it were yielded. */
  #failure: unknown;

  constructor(context: WatchContext<T>) {
    this.#context = context;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Cancels every armed watch and wakes a waiting `next()`. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.#stop.abort(new CoordError('ABORTED', `${this.#context.what}: watch stopped`));
    for (const watch of this.#armed) watch.abort();
    this.#armed.clear();
    this.#wake?.();
  }

  take(): GroupEvent<T> | undefined {
    return this.#events.shift();
  }

  throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The first read: the group must exist; every member present is reported as a `join`. */
  async start(): Promise<void> {
    await this.#readMarker();
    await this.#readChildren();
  }

  /** Waits for a watch to fire, then re-reads what fired and queues the differences. */
  async next(): Promise<void> {
    while (!this.#all && !this.#markerFired && !this.#childrenFired && this.#membersFired.size === 0) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
      throwIfAborted(this.#stop.signal, this.#context.what);
    }
    try {
      await this.#round();
    } catch (error) {
      if (this.stopped) throw error;
      if (!isCoordError(error) || !(error.retryable || error.code === 'SESSION_EXPIRED')) {
        this.#failure = error;
        return;
      }
      // Transient, or our session is being replaced: read everything again shortly.
      this.#all = true;
      await sleep(RETRY_MS, this.#stop.signal);
    }
  }

  /** Re-reads what fired: the list first (joins, leaves), then members, then the marker. */
  async #round(): Promise<void> {
    const all = this.#all;
    const marker = all || this.#markerFired;
    const children = all || this.#childrenFired;
    const members = all ? [...this.#known.keys()] : [...this.#membersFired];
    this.#all = this.#markerFired = this.#childrenFired = false;
    this.#membersFired.clear();
    const fresh = children ? await this.#readChildren() : new Set<string>();
    await this.#readMembers(members.filter((member) => this.#known.has(member) && !fresh.has(member)));
    if (marker) await this.#readMarker();
  }

  /** Lists the members: leaves for the known ones missing, joins for new ones. Returns the new. */
  async #readChildren(): Promise<Set<string>> {
    const { watch, result } = await this.#watched(this.#childrenWatch, (signal) => this.#context.driver.children(this.#context.path, { watch: true, signal }));
    const { nodes, changed } = result;
    this.#childrenWatch = watch;
    this.#listen(watch, changed, () => (this.#childrenFired = true));
    const names = new Set(nodes.map((node) => node.name));
    for (const [member, known] of this.#known) {
      if (names.has(member)) continue;
      this.#drop(known.watch);
      this.#known.delete(member);
      this.#events.push({ type: 'leave', member, capabilities: known.capabilities });
    }
    const fresh = [...names].filter((member) => !this.#known.has(member));
    await this.#readMembers(fresh);
    return new Set(fresh);
  }

  /**
   * Reads members in parallel and queues their events in the given order. The events of the
   * reads that succeeded are queued even if another failed: they are already in `#known`.
   */
  async #readMembers(members: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(members.map((member) => this.#readMember(member)));
    let failure: PromiseRejectedResult | undefined;
    for (const result of results) {
      if (result.status === 'fulfilled') this.#events.push(...result.value);
      else failure ??= result;
    }
    if (failure !== undefined) throw failure.reason;
  }

  /** Reads one member (arming its watch) and returns what changed since the last read. */
  async #readMember(member: string): Promise<GroupEvent<T>[]> {
    const previous = this.#known.get(member);
    const path = joinPath(this.#context.path, member);
    const { watch, result } = await this.#watched(previous?.watch, (signal) => this.#context.driver.get(path, { watch: true, signal }));
    const { node, changed } = result;
    if (node === undefined) {
      this.#drop(watch); // a watch on a missing node would wait for a create: the listing covers that
      if (previous === undefined) return []; // came and went between two reads
      this.#known.delete(member);
      return [{ type: 'leave', member, capabilities: previous.capabilities }];
    }
    this.#listen(watch, changed, () => this.#membersFired.add(member));
    const record = decodeMember(node, this.#context.codec);
    this.#known.set(member, { ...record, watch });
    const joined: GroupEvent<T> = { type: 'join', member, capabilities: record.capabilities };
    if (previous === undefined) return [joined];
    if (previous.joinId !== record.joinId) return [{ type: 'leave', member, capabilities: previous.capabilities }, joined];
    if (previous.version !== record.version) return [{ type: 'update', member, capabilities: record.capabilities }];
    return [];
  }

  /** Reads the marker; the group is gone if it is missing or another incarnation. */
  async #readMarker(): Promise<void> {
    const { watch, result } = await this.#watched(this.#markerWatch, (signal) => this.#context.driver.get(this.#context.path, { watch: true, signal }));
    const { node, changed } = result;
    this.#markerWatch = watch;
    const incarnation = node === undefined ? undefined : markerId(node.data);
    if (incarnation === undefined || (this.#incarnation !== undefined && incarnation !== this.#incarnation)) {
      this.#drop(watch);
      throw new CoordError('GROUP_NOT_FOUND', `${this.#context.what}: no such group (or it was deleted)`);
    }
    this.#incarnation = incarnation;
    this.#listen(watch, changed, () => (this.#markerFired = true));
  }

  /** Runs a watched read under a new controller that replaces (cancels) `previous`. */
  async #watched<R>(previous: AbortController | undefined, read: (signal: AbortSignal) => Promise<R>): Promise<{ watch: AbortController; result: R }> {
    if (previous !== undefined) this.#drop(previous);
    throwIfAborted(this.#stop.signal, this.#context.what);
    const watch = new AbortController();
    this.#armed.add(watch);
    try {
      return { watch, result: await read(watch.signal) };
    } catch (error) {
      this.#drop(watch);
      throw error;
    }
  }

  #drop(watch: AbortController): void {
    watch.abort();
    this.#armed.delete(watch);
  }

  /** When the watch fires: mark what to re-read (everything after a session change), wake up. */
  #listen(watch: AbortController, changed: Promise<WatchEvent> | undefined, mark: () => void): void {
    void changed?.then((event) => {
      this.#armed.delete(watch);
      if (event === 'cancelled' || this.stopped) return;
      if (event === 'session') this.#all = true;
      else mark();
      this.#wake?.();
    });
  }
}
