export * from './worker-options';
export * from './stage-setup';
export * from './stage-status';
export * from './middle-stage';
export * from './driver/driver';
export * from './start-worker';
export * from './worker-command';
export * from './driver/engine-core-wiring';
