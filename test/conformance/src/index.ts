/**
 * `@coord/conformance`: the one suite every backend passes. A backend binds it in a few
 * lines with a {@link DriverFixture}:
 *
 * ```ts
 * import { conformance } from '@coord/conformance';
 * conformance({ name: 'memory', url: () => 'memory://conformance', faults: { ... } });
 * ```
 */
import { afterAll, beforeAll, describe } from '@jest/globals';
import { driverCases } from './cases/driver.js';
import { groupCases } from './cases/group.js';
import { hostileCases } from './cases/hostile.js';
import { hostileMoreCases } from './cases/hostile-more.js';
import { lockCases } from './cases/lock.js';
import { networkCases } from './cases/network.js';
import { processPauseCases } from './cases/process-pause.js';
import { rwlockCases } from './cases/rwlock.js';
import { semaphoreCases } from './cases/semaphore.js';
import { barrierCases } from './cases/barrier.js';
import { doubleBarrierCases } from './cases/double-barrier.js';
import { electionCases } from './cases/election.js';
import { queueCases } from './cases/queue.js';
import type { DriverFixture } from './fixture.js';
import { useContext } from './harness.js';

export { canLoseSession, type DriverFixture, type FaultHooks, type SessionLoss } from './fixture.js';
export { TestContext, useContext, type OpenOptions } from './harness.js';

/** Registers the whole conformance suite for one backend. */
export function conformance(fixture: DriverFixture): void {
  describe(`conformance on ${fixture.name}`, () => {
    beforeAll(async () => {
      await fixture.setup?.();
    });
    afterAll(async () => {
      await fixture.teardown?.();
    });
    const context = useContext(fixture);
    driverCases(fixture, context);
    lockCases(fixture, context);
    rwlockCases(fixture, context);
    semaphoreCases(fixture, context);
    barrierCases(fixture, context);
    doubleBarrierCases(fixture, context);
    electionCases(fixture, context);
    groupCases(fixture, context);
    queueCases(fixture, context);
    networkCases(fixture, context);
    hostileCases(fixture, context);
    hostileMoreCases(fixture, context);
    processPauseCases(fixture, context);
  });
}
