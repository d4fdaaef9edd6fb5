// The conformance suite on a real ZooKeeper server (see leg.ts).
import { startZooKeeper } from '@coord/testing';
import { leg } from './leg.js';

await leg({ backend: 'zookeeper', start: () => startZooKeeper() });
