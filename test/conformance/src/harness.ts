/**
 * Per-test plumbing: a unique path prefix, coordinators that are counted and always closed,
 * and leak checks (backend sessions/watches/ephemeral nodes, and timers) after every test.
 */
import { afterEach, beforeAll, beforeEach } from '@jest/globals';
import { connect, type Coordinator } from 'coord';
import type { Driver } from '@coord/core';
import { CountingDriver, untilAborted, type ProxiedTarget } from '@coord/testing';
import { canLoseSession, type DriverFixture, type SessionLoss } from './fixture.js';

/** Options of {@link TestContext.open}. */
export interface OpenOptions {
  /** Session timeout, ms (default 5000). */
  readonly sessionTimeout?: number;
}

let testCounter = 0;
const RUN_ID = Math.random().toString(36).slice(2, 8);

/** What one test works with. */
export class TestContext {
  /** A path prefix no other test (or run) uses. */
  readonly prefix: string;
  readonly #fixture: DriverFixture;
  readonly #open = new Set<Coordinator>();
  readonly #proxies = new Set<ProxiedTarget>();
  readonly #nets = new Map<Coordinator, ProxiedTarget>();

  constructor(fixture: DriverFixture) {
    testCounter += 1;
    this.prefix = `/conformance-${RUN_ID}/t${testCounter}`;
    this.#fixture = fixture;
  }

  /** A path under this test's prefix. */
  path(name: string): string {
    return `${this.prefix}/${name}`;
  }

  /**
   * Connects a coordinator (its own session), counted and closed after the test. On a real
   * backend (a fixture with `faults.proxy`) it goes through its own fault proxies, so a case
   * can end its session the way sessions really end (see {@link expireSession}).
   */
  async open(options: OpenOptions = {}): Promise<Coordinator> {
    if (this.#fixture.faults.proxy === undefined) return this.#connect(this.#fixture.url(), options);
    return (await this.openProxied(options)).coord;
  }

  /**
   * Connects a coordinator through its own fault proxies (the fixture's `faults.proxy`), so a
   * case can cut this one client off: `net.partition()`, `net.heal()`, `net.loseNextReply()`.
   * Guard the case with the fixture having `faults.proxy` (skip visibly otherwise).
   */
  async openProxied(options: OpenOptions = {}): Promise<{ coord: Coordinator; net: ProxiedTarget }> {
    const proxy = this.#fixture.faults.proxy;
    if (proxy === undefined) throw new Error(`${this.#fixture.name} has no network fault hook (faults.proxy)`);
    const net = await proxy();
    this.#proxies.add(net);
    const coord = await this.#connect(net.url, options);
    this.#nets.set(coord, net);
    return { coord, net };
  }

  /**
   * Whether {@link loseSession} can end a session the given way: `expireSession` needs the
   * fixture's hook; `stopRenewing` needs its hook or network fault proxies.
   */
  canLoseSession(how: SessionLoss): boolean {
    return canLoseSession(this.#fixture, how);
  }

  /**
   * Expires a coordinator's current session and resolves once its signal has aborted.
   *
   * On a real backend this is what a real expiry is: the client goes silent (its proxies
   * `blackhole`), so its renewals stop; its own local deadline aborts the session's signal;
   * the server expires it a little later (a TTL after the last renewal it heard) and hands its
   * resources on; then the network heals and the driver must carry on with a fresh session.
   * A server-side kill (the fixture's `expireSession`, e.g. a ZooKeeper takeover + close)
   * is not used here: it ends the session before the client can know — no lease-based system
   * can then abort the holder first (Curator and kazoo learn of it on reconnection) — so it
   * cannot test the promise that a handle's signal fires before its resource is handed on.
   * Without proxies (memory), the fixture's hook expires the session in place.
   */
  async expireSession(coord: Coordinator): Promise<void> {
    const net = this.#nets.get(coord);
    if (net === undefined) return this.#fixture.faults.expireSession!(this.raw(coord));
    const { signal, ttlMs } = coord.session;
    net.blackhole();
    try {
      await untilAborted(signal, 3 * ttlMs + 10_000);
    } finally {
      net.heal();
    }
    if (!signal.aborted) throw new Error(`session ${coord.session.id} did not expire within ${3 * ttlMs + 10_000} ms of silence`);
  }

  /**
   * Ends the current session of a coordinator:
   * - `expireSession`: see {@link expireSession};
   * - `stopRenewing`: its renewals stop reaching the server while the client runs on. With
   *   the fixture's hook the driver stops renewing; on a real backend the client's network
   *   goes silent (`blackhole`) until its own local deadline aborts the session, then heals —
   *   so the driver must treat that session as over even though the server may still hold it,
   *   and carry on with a fresh one. Unlike `expireSession`, it returns at once.
   */
  async loseSession(how: SessionLoss, coord: Coordinator): Promise<void> {
    const faults = this.#fixture.faults;
    if (how === 'expireSession') return this.expireSession(coord);
    if (faults.stopRenewing !== undefined) return faults.stopRenewing(this.raw(coord));
    const net = this.#nets.get(coord);
    if (net === undefined) throw new Error(`${this.#fixture.name} has neither a stopRenewing hook nor network fault proxies`);
    const session = coord.session;
    net.blackhole();
    if (session.signal.aborted) net.heal();
    else session.signal.addEventListener('abort', () => net.heal(), { once: true });
  }

  async #connect(url: string, options: OpenOptions): Promise<Coordinator> {
    const coord = await connect(url, {
      sessionTimeout: options.sessionTimeout ?? 5_000,
      wrapDriver: (driver) => new CountingDriver(driver),
    });
    this.#open.add(coord);
    return coord;
  }

  /** Connects `n` coordinators. */
  openMany(n: number, options: OpenOptions = {}): Promise<Coordinator[]> {
    return Promise.all(Array.from({ length: n }, () => this.open(options)));
  }

  /** The counting wrapper of a coordinator's driver. */
  counting(coord: Coordinator): CountingDriver {
    return coord.driver as CountingDriver;
  }

  /** The backend driver under the counting wrapper (what fault hooks act on). */
  raw(coord: Coordinator): Driver {
    return this.counting(coord).inner;
  }

  /** Wake-ups (watch firings) summed over the given coordinators. */
  wakeUps(coords: Iterable<Coordinator>): number {
    let total = 0;
    for (const coord of coords) total += this.counting(coord).counts.wakeups;
    return total;
  }

  /** Watches armed and not yet fired or cancelled, summed over the given coordinators. */
  watching(coords: Iterable<Coordinator>): number {
    let total = 0;
    for (const coord of coords) total += this.counting(coord).counts.watchesPending;
    return total;
  }

  /** Closes every coordinator this test opened. */
  async closeAll(): Promise<void> {
    // Heal first, so a partitioned client can end its session on the server cleanly.
    for (const net of this.#proxies) net.heal();
    await Promise.all([...this.#open].map((coord) => coord.close()));
    this.#open.clear();
    await Promise.all([...this.#proxies].map((net) => net.close()));
    this.#proxies.clear();
    this.#nets.clear();
  }
}

let fewestTimers = Number.POSITIVE_INFINITY;

/**
 * Counts live timers of the process. Jest's own are included and come and go (one more
 * during a file's first test), so a test's baseline is the fewest ever seen at rest.
 */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

function timerBaseline(): number {
  fewestTimers = Math.min(fewestTimers, liveTimers());
  return fewestTimers;
}

/** Polls `check` until it returns an empty list or `ms` pass; returns the last result. */
async function settle(check: () => Promise<string[]> | string[], ms: number): Promise<string[]> {
  const until = performance.now() + ms;
  for (;;) {
    const problems = await check();
    if (problems.length === 0 || performance.now() > until) return problems;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Registers beforeEach/afterEach hooks and returns an accessor for the current test's
 * context. After each test every coordinator is closed and leaks fail the test.
 */
export function useContext(fixture: DriverFixture): () => TestContext {
  let current: TestContext | undefined;
  let timersBefore = 0;
  beforeAll(async () => {
    // Let Jest's start-up timers finish, so the first test's baseline is a resting one.
    await new Promise((resolve) => setTimeout(resolve, 100));
    timerBaseline();
  });
  beforeEach(() => {
    timersBefore = timerBaseline();
    current = new TestContext(fixture);
  });
  afterEach(async () => {
    const context = current;
    current = undefined;
    await context?.closeAll();
    const backend = await settle(() => fixture.leaks?.() ?? [], 2_000);
    // A timer still running 5 s after every coordinator closed is a leak. (2 s was once too
    // short on a loaded CI machine after a Redis group rejoin case; the timer was gone later.)
    const timers = await settle(() => {
      const extra = liveTimers() - Math.min(timersBefore, timerBaseline());
      return extra > 0 ? [`${extra} timer(s) still active`] : [];
    }, 5_000);
    const leaks = [...backend, ...timers];
    if (leaks.length > 0) throw new Error(`leak after test: ${leaks.join('; ')}`);
  });
  return () => {
    if (current === undefined) throw new Error('no test context outside a test');
    return current;
  };
}
