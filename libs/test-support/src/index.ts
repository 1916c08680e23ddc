export * from './models';
export * from './numeric';
export * from './redis';
