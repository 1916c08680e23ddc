export * from './activations';
export * from './session-factory';
export * from './kv-store';
export * from './layer-range-runner';
export * from './head-runners';
export * from './merge-image';
export * from './model-runner';
