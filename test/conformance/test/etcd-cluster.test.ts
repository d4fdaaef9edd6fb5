// The conformance suite on a 3-member etcd cluster (see leg.ts).
import { startEtcdCluster } from '@coord/testing';
import { leg } from './leg.js';

await leg({ backend: 'etcd', title: 'etcd cluster of 3', clustered: true, start: () => startEtcdCluster(3) });
