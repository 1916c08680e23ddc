export * from './request-input';
export * from './request-error';
export * from './prepare-input';
export * from './plan-costs';
export * from './local-generator';
