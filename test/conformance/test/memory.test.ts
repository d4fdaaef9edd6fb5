// The conformance suite on the in-process reference driver.
import { MemoryDriver, storeNamed } from '@coord/memory';
import type { Driver } from '@coord/core';
import { conformance } from '../src/index.js';

const STORE = 'conformance';
const memory = (driver: Driver): MemoryDriver => driver as MemoryDriver;

conformance({
  name: 'memory',
  url: () => `memory://${STORE}`,
  faults: {
    expireSession: async (driver) => memory(driver).expireSession(),
    stopRenewing: async (driver) => memory(driver).stopRenewing(),
  },
  leaks: async () => {
    const stats = storeNamed(STORE).stats();
    const leaks: string[] = [];
    if (stats.sessions > 0) leaks.push(`${stats.sessions} open session(s)`);
    if (stats.watches > 0) leaks.push(`${stats.watches} armed watch(es)`);
    if (stats.ephemeralNodes > 0) leaks.push(`${stats.ephemeralNodes} ephemeral node(s)`);
    return leaks;
  },
});
