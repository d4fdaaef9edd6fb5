// The conformance suite on a real Redis server (see leg.ts).
import { startRedis } from '@coord/testing';
import { leg } from './leg.js';

await leg({ backend: 'redis', start: () => startRedis() });
