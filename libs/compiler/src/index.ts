export * from './manifest';
export * from './quantize';
export * from './rope';
export * from './convert';
export * from './graph-files';
export * from './bundle-cache';
export * from './sizing';
