export * from './find-thread-entry';
