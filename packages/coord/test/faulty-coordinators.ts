// Coordinators over @coord/testing's FaultDriver on one memory store, closed after each test.
// Shared by the recipe fault tests of this directory.
import type { MemoryDriver } from '@coord/memory';
import { FaultDriver, type DriverFaults } from '@coord/testing';
import { connect, type Coordinator } from '../src/index.js';

/** A coordinator over a {@link FaultDriver}. */
export interface FaultyCoordinator {
  readonly coord: Coordinator;
  readonly faults: FaultDriver<MemoryDriver>;
  /** The memory driver underneath (fault hooks such as `expireSession`). */
  readonly memory: MemoryDriver;
}

/** Opens coordinators on one memory store and closes them all at the end of each test. */
export class FaultyCoordinators {
  readonly store: string;
  #open: Coordinator[] = [];

  constructor(store: string) {
    this.store = store;
  }

  async open(faults: DriverFaults = {}, sessionTimeout = 5_000): Promise<FaultyCoordinator> {
    let wrapped: FaultDriver<MemoryDriver> | undefined;
    const coord = await connect(`memory://${this.store}`, {
      sessionTimeout,
      wrapDriver: (driver) => (wrapped = new FaultDriver(driver as MemoryDriver, faults)),
    });
    this.#open.push(coord);
    const faulty = wrapped as FaultDriver<MemoryDriver>;
    return { coord, faults: faulty, memory: faulty.inner };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((coord) => coord.close()));
  }
}
