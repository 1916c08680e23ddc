export * from './admission';
export * from './micro-batch';
export * from './ring-executor';
export * from './scheduler';
export * from './sequence';
