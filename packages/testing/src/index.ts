/**
 * `@coord/testing`: tools for testing code that uses Coord, and Coord itself — today a
 * driver wrapper that counts requests and wake-ups; real ZooKeeper/etcd/Redis servers with
 * fault injection are planned here.
 */
export {
  CountingDriver,
  REQUEST_METHODS,
  diffCounts,
  newCounts,
  totalRequests,
  type Counts,
  type RequestMethod,
} from './counting-driver.js';
export { rejectedCoordError, thrownCoordError } from './errors.js';
export { eventually } from './polling.js';
export {
  startFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
} from './proxy/fault-proxy.js';
export type { Fault } from './proxy/fault.js';
