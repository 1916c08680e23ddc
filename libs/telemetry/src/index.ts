export * from './metric-catalog';
export * from './registry';
export * from './metrics-server';
export * from './tracing';
export * from './dashboard';
export * from './process-guards';
