export * from './grafana-model';
export * from './ivl-dashboard';
export { metricSelectors, catalogMetric, RATE_INTERVAL } from './promql';
export type { MetricSelector } from './promql';
export * as promql from './promql';
