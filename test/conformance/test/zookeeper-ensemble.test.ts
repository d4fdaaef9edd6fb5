// The conformance suite on a 3-member ZooKeeper ensemble (see leg.ts).
import { startZooKeeperEnsemble } from '@coord/testing';
import { leg } from './leg.js';

await leg({ backend: 'zookeeper', title: 'zookeeper ensemble of 3', clustered: true, start: () => startZooKeeperEnsemble(3) });
