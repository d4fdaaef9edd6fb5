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
import { lockCases } from './cases/lock.js';
import { queueCases } from './cases/queue.js';
import type { DriverFixture } from './fixture.js';
import { useContext } from './harness.js';

export type { DriverFixture, FaultHooks } from './fixture.js';
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
    queueCases(fixture, context);
  });
}
