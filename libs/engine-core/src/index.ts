export * from './admission';
export * from './micro-batch';
export * from './ring-executor';
export * from './scheduler';
export * from './sequence';
export * from './prefix-cache';
export * from './prefix-hash';
export * from './prefix-index';
