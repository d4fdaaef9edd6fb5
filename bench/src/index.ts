/**
 * `@coord/bench`: the lock benchmarks (not tests). They count through `@coord/testing`'s
 * `CountingDriver`.
 */
export { measureThroughput, measureRequests, type ThroughputResult, type RequestsResult } from './cycles.js';
export { measureHandoff, type HandoffOptions, type HandoffResult } from './handoff.js';
export { memoryStats } from './store-stats.js';
