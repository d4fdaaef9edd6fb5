// The conformance suite on a real Redis server (see leg.ts).
import type { Driver } from '@coord/core';
import { startRedis } from '@coord/testing';
import type { RedisDriver } from '@coord/redis';
import { leg } from './leg.js';

await leg({
  backend: 'redis',
  start: () => startRedis(),
  // The driver's own hook: its heartbeat stops, as in a paused process.
  faults: { stopRenewing: async (driver: Driver) => (driver as RedisDriver).stopRenewing() },
});
