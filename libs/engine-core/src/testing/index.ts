// Test and bench helpers of the engine core (not part of its public API): `@ivl/engine-core/testing`.
export * from './fake-ring';
export * from './in-process-engine';
export * from './model-runner-executor';
