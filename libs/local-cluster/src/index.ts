export * from './ports';
export * from './redis-server';
export * from './supervisor';
export * from './local-cluster';
