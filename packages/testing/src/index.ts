/**
 * `@coord/testing`: tools for testing code that uses Coord, and Coord itself — real
 * ZooKeeper, etcd and Redis servers (single and 3-node) with fault injection, and driver
 * wrappers that count requests and wake-ups or inject lost replies and failures.
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
export { ForwardingDriver } from './forwarding-driver.js';
export { FaultDriver, connectionLoss, faultOnce, unavailable, type DriverFaults } from './fault-driver.js';
export { rejectedCoordError, thrownCoordError } from './errors.js';
export { eventually, untilAborted } from './polling.js';
export {
  startFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
} from './proxy/fault-proxy.js';
export type { Fault } from './proxy/fault.js';
export * from './servers/index.js';
export { proxyTarget, withHosts, type ProxiedTarget, type ProxyEndpoint } from './proxy/proxied-target.js';
