// The conformance suite on a real etcd server (see leg.ts).
import { startEtcd } from '@coord/testing';
import { leg } from './leg.js';

await leg({ backend: 'etcd', start: () => startEtcd() });
