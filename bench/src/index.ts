/**
 * `@coord/bench`: the lock benchmarks (not tests) and the counting driver wrapper they use,
 * reusable by other benchmarks.
 */
export { CountingDriver, newCounts, diffCounts, totalRequests, REQUEST_METHODS, type Counts, type RequestMethod } from './counting-driver.js';
export { measureThroughput, measureRequests, type ThroughputResult, type RequestsResult } from './cycles.js';
export { measureHandoff, type HandoffOptions, type HandoffResult } from './handoff.js';
export { memoryStats } from './store-stats.js';
