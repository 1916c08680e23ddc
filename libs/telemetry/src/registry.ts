import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, MetricDef, MetricKey } from './metric-catalog';

type Instrument<D extends MetricDef> = D['kind'] extends 'counter' ? Counter : D['kind'] extends 'gauge' ? Gauge : Histogram;

export type Instruments<K extends MetricKey> = { [P in K]: Instrument<(typeof METRICS)[P]> };

/** A Prometheus registry holding the catalog's metrics for one exporter (gateway or worker), plus process metrics. */
export function createMetrics<K extends MetricKey>(exporter: MetricDef['exporter'], constLabels: Record<string, string> = {}): { registry: Registry; m: Instruments<K> } {
  const registry = new Registry();
  registry.setDefaultLabels(constLabels);
  collectDefaultMetrics({ register: registry });
  const m: Record<string, Counter | Gauge | Histogram> = {};
  for (const [key, def] of Object.entries(METRICS) as Array<[MetricKey, MetricDef]>) {
    if (def.exporter !== exporter) continue;
    const cfg = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
    m[key] =
      def.kind === 'counter' ? new Counter(cfg) : def.kind === 'gauge' ? new Gauge(cfg) : new Histogram({ ...cfg, buckets: [...(def.buckets ?? [])] });
  }
  return { registry, m: m as unknown as Instruments<K> };
}

export type WorkerMetricKey = { [K in MetricKey]: (typeof METRICS)[K]['exporter'] extends 'worker' ? K : never }[MetricKey];
export type GatewayMetricKey = { [K in MetricKey]: (typeof METRICS)[K]['exporter'] extends 'gateway' ? K : never }[MetricKey];
