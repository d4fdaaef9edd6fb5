/**
 * `@coord/cli`: the `coord` command, and the pieces of its demo for reuse in examples.
 */
export { runDemo, type DemoOptions, type DemoResult } from './demo.js';
export { StackStore, type WriteResult } from './stack-store.js';
export { HolderMonitor } from './holders.js';
