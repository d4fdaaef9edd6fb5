/**
 * `@coord/core`: the types and helpers every Coord package shares — the driver interface,
 * `CoordError`, URL parsing, the driver registry, paths, argument validation, codecs and
 * signal helpers. It has no runtime dependencies.
 */
export * from './errors.js';
export * from './driver.js';
export * from './config.js';
export * from './secret.js';
export * from './paths.js';
export * from './validate.js';
export * from './timers.js';
export * from './abort-listeners.js';
export * from './listeners.js';
export * from './signals.js';
export * from './codec.js';
export * from './registry.js';
export * from './url.js';
export * from './session.js';
export * from './one-shot-watch.js';
export * from './session-keeper.js';
export * from './node-checks.js';
