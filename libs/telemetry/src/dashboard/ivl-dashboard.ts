/**
 * The cluster's Grafana dashboard, generated from the metric catalog: request-level panels from the gateway's
 * `/metrics` (vLLM's panels under the `ivl:` names, plus the OpenTelemetry GenAI histograms) and pipeline panels
 * from every worker's `/metrics`. `node tools/dashboard.mjs` writes it to `infra/grafana/ivl-cluster.json` and to the
 * Helm chart's `files/`; a test checks both copies are current and that every query names catalog metrics only.
 */
import { METRICS, MetricDef } from '../metric-catalog';
import type { Dashboard, DataSourceRef, GraphPanel, Panel, PrometheusTarget, TemplateVariable } from './grafana-model';
import { agg, increase, Matchers, mean, quantile, rate, selector } from './promql';

export type Exporter = MetricDef['exporter'];

/** Labels a process adds to all of its metrics beyond the catalog's (workers: `pipeline`, the --pipeline-id). */
export const EXPORTER_LABELS: Record<Exporter, readonly string[]> = { gateway: [], worker: ['pipeline'] };

/** Labels Prometheus attaches to every scraped series (target labels); queries may group by these too. */
export const TARGET_LABELS: readonly string[] = ['instance', 'job', 'namespace', 'pod', 'service', 'container', 'endpoint'];

export const DS: DataSourceRef = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

/** How each exporter's panels filter: gateway metrics by the served model, worker metrics by pipeline. */
export const PANEL_FILTERS: Record<Exporter, Matchers> = {
  gateway: { model_name: '$model_name' },
  worker: { pipeline: '=~$pipeline' },
};

/** The line in each panel's description that names the process exporting its metrics (read back by tests). */
export const EXPORTED_BY = 'Exported by: ';

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  /** What the panel shows and what to do when it moves. */
  description: string;
  exporter: Exporter;
  type?: GraphPanel['type'];
  unit: string;
  /** Grid columns out of 24 (default 8). */
  width?: number;
  min?: number;
  max?: number;
  queries: Query[];
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const G = PANEL_FILTERS.gateway;
const W = PANEL_FILTERS.worker;

/** p50/p90/p99 and the mean of a latency histogram. */
function latencyQueries(def: MetricDef, m: Matchers, by: readonly string[] = [], prefix = ''): Query[] {
  const lead = by.length ? `${by.map((l) => `{{${l}}}`).join(' ')} ` : prefix;
  return [
    ...[0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, def, m, by), legend: `${lead}p${Math.round(q * 100)}` })),
    { expr: mean(def, m, by), legend: `${lead}mean` },
  ];
}

function heatmap(def: MetricDef, m: Matchers): Query[] {
  return [{ expr: agg('sum', ['le'], increase(def, m, '_bucket')), legend: '{{le}}' }];
}

function rows(): RowSpec[] {
  return [
    {
      title: 'Overview',
      panels: [
        {
          title: 'Pipelines whole',
          description: 'Pipelines whose ring is complete (every stage serving and connected). Fewer than the replicas you run means a stage is starting, converting the checkpoint or crash-looping: check the "Worker restarts" panel and the pods of that pipeline.',
          exporter: 'worker',
          type: 'stat',
          unit: 'none',
          width: 6,
          queries: [{ expr: agg('sum', [], agg('max', ['pipeline'], selector(METRICS.ringWhole, W))), legend: 'whole' }],
        },
        {
          title: 'Requests running / waiting',
          description: 'Requests being generated and requests waiting in the queue (vLLM\'s scheduler state). Waiting that stays above zero means every pipeline is full: add pipeline replicas.',
          exporter: 'gateway',
          type: 'stat',
          unit: 'none',
          width: 6,
          queries: [
            { expr: agg('max', [], selector(METRICS.running, G)), legend: 'running' },
            { expr: agg('max', [], selector(METRICS.waiting, G)), legend: 'waiting' },
          ],
        },
        {
          title: 'Generation throughput',
          description: 'Output tokens per second over all pipelines.',
          exporter: 'gateway',
          type: 'stat',
          unit: 'short',
          width: 6,
          queries: [{ expr: agg('sum', [], rate(METRICS.generationTokens, G)), legend: 'tokens/s' }],
        },
        {
          title: 'Time to first token p90',
          description: '90th percentile of the time from the request reaching the gateway to its first token (queue time + prefill).',
          exporter: 'gateway',
          type: 'stat',
          unit: 's',
          width: 6,
          queries: [{ expr: quantile(0.9, METRICS.timeToFirstToken, G), legend: 'p90' }],
        },
      ],
    },
    {
      title: 'Requests (gateway)',
      panels: [
        {
          title: 'E2E request latency',
          description: 'Time from the request reaching the gateway to its last token: quantiles and mean.',
          exporter: 'gateway',
          unit: 's',
          queries: latencyQueries(METRICS.e2eLatency, G),
        },
        {
          title: 'Time to first token',
          description: 'Queue time plus prefill (vision encoder and prompt) plus one ring round trip. When it grows, look at "Queue time" first: if the queue is the cause, add pipelines; if prefill is, images with many tiles dominate (lower max_dynamic_patch) or stage 0 is the bottleneck (try the balanced plan).',
          exporter: 'gateway',
          unit: 's',
          queries: latencyQueries(METRICS.timeToFirstToken, G),
        },
        {
          title: 'Inter-token latency',
          description: 'Time between consecutive output tokens of a request: one ring round trip of a decode micro-batch. It grows with the batch size (more sequences per step) and with the slowest stage; compare "Stage forward time" across stages.',
          exporter: 'gateway',
          unit: 's',
          queries: latencyQueries(METRICS.interTokenLatency, G),
        },
        {
          title: 'Token throughput',
          description: 'Prompt (prefill) and generation tokens per second.',
          exporter: 'gateway',
          unit: 'short',
          queries: [
            { expr: agg('sum', [], rate(METRICS.promptTokens, G)), legend: 'prompt tokens/s' },
            { expr: agg('sum', [], rate(METRICS.generationTokens, G)), legend: 'generation tokens/s' },
          ],
        },
        {
          title: 'Scheduler state',
          description: 'Requests running (in a pipeline\'s continuous batch) and waiting (queued). Waiting > 0 for long is the signal to scale pipelines (KEDA does it on the queue length).',
          exporter: 'gateway',
          unit: 'none',
          queries: [
            { expr: agg('max', [], selector(METRICS.running, G)), legend: 'running' },
            { expr: agg('max', [], selector(METRICS.waiting, G)), legend: 'waiting' },
          ],
        },
        {
          title: 'Queue time',
          description: 'Time a request waited in the queue before a pipeline took it. Growing queue time with flat prefill and decode time means too few pipelines for the load.',
          exporter: 'gateway',
          unit: 's',
          queries: latencyQueries(METRICS.queueTime, G),
        },
        {
          title: 'Prefill and decode time',
          description: 'Per-request time spent in prefill (vision and prompt, chunked round the ring) and in decode: p90 and mean.',
          exporter: 'gateway',
          unit: 's',
          queries: [
            { expr: quantile(0.9, METRICS.prefillTime, G), legend: 'prefill p90' },
            { expr: mean(METRICS.prefillTime, G), legend: 'prefill mean' },
            { expr: quantile(0.9, METRICS.decodeTime, G), legend: 'decode p90' },
            { expr: mean(METRICS.decodeTime, G), legend: 'decode mean' },
          ],
        },
        {
          title: 'Finished requests by reason',
          description: 'Requests finished per second by finish reason (stop, length, ...). A rise of "length" means clients hit max_tokens.',
          exporter: 'gateway',
          unit: 'reqps',
          queries: [{ expr: agg('sum', ['finished_reason'], rate(METRICS.requestSuccess, G)), legend: '{{finished_reason}}' }],
        },
        {
          title: 'Job retries',
          description: 'Jobs per second that needed another attempt because a stage failed under them (the ring broke). Retried jobs never duplicate output, but each retry costs a prefill.',
          exporter: 'gateway',
          unit: 'reqps',
          queries: [{ expr: agg('sum', [], rate(METRICS.jobRetries, G)), legend: 'retries/s' }],
        },
        {
          title: 'Request prompt length',
          description: 'Heatmap of prompt tokens per request (image tiles expand to 256 tokens each).',
          exporter: 'gateway',
          type: 'heatmap',
          unit: 'short',
          queries: heatmap(METRICS.requestPromptTokens, G),
        },
        {
          title: 'Request generation length',
          description: 'Heatmap of generated tokens per request.',
          exporter: 'gateway',
          type: 'heatmap',
          unit: 'short',
          queries: heatmap(METRICS.requestGenerationTokens, G),
        },
        {
          title: 'Requested max tokens',
          description: 'Heatmap of the max_tokens requests asked for.',
          exporter: 'gateway',
          type: 'heatmap',
          unit: 'short',
          queries: heatmap(METRICS.requestMaxGenerationTokens, G),
        },
        {
          title: 'Queue depth by state',
          description: 'Jobs in the BullMQ generate queue by state (waiting, prioritized, active, delayed, failed, ...). Batch jobs wait as prioritized; interactive ones as waiting.',
          exporter: 'gateway',
          unit: 'none',
          width: 24,
          queries: [{ expr: agg('max', ['state'], selector(METRICS.queueJobs)), legend: '{{state}}' }],
        },
      ],
    },
    {
      title: 'OpenTelemetry GenAI (gateway)',
      panels: [
        {
          title: 'gen_ai.server.time_to_first_token',
          description: 'The GenAI semantic-convention histogram of time to first token, by requested model.',
          exporter: 'gateway',
          unit: 's',
          queries: [0.5, 0.99].map((q) => ({ expr: quantile(q, METRICS.genAiTtft, {}, ['gen_ai_request_model']), legend: `{{gen_ai_request_model}} p${q * 100}` })),
        },
        {
          title: 'gen_ai.server.time_per_output_token',
          description: 'The GenAI semantic-convention histogram of time per output token after the first, by requested model.',
          exporter: 'gateway',
          unit: 's',
          queries: [0.5, 0.99].map((q) => ({ expr: quantile(q, METRICS.genAiTpot, {}, ['gen_ai_request_model']), legend: `{{gen_ai_request_model}} p${q * 100}` })),
        },
        {
          title: 'gen_ai.server.request.duration',
          description: 'The GenAI semantic-convention request duration (p50, p99), and requests per second by error type (empty: success).',
          exporter: 'gateway',
          unit: 's',
          queries: [
            { expr: quantile(0.5, METRICS.genAiDuration), legend: 'p50' },
            { expr: quantile(0.99, METRICS.genAiDuration), legend: 'p99' },
            { expr: agg('sum', ['error_type'], rate(METRICS.genAiDuration, {}, '_count')), legend: 'req/s error_type="{{error_type}}"' },
          ],
        },
      ],
    },
    {
      title: 'Pipeline (workers)',
      panels: [
        {
          title: 'Stage forward time',
          description: 'Forward pass time of each stage per micro-batch (p50, p99) by kind (prefill, decode). The slowest stage sets the pace of the whole ring: if one stage is consistently slower, switch pipeline.plan from card to balanced, or give it a faster GPU.',
          exporter: 'worker',
          unit: 's',
          width: 12,
          queries: [0.5, 0.99].map((q) => ({ expr: quantile(q, METRICS.stageForward, W, ['stage', 'kind']), legend: `stage {{stage}} {{kind}} p${q * 100}` })),
        },
        {
          title: 'Hop latency',
          description: 'Ring round trip of a micro-batch minus the stages\' compute: transfer and queueing between stages, seen by stage 0 (p50, p99). High values with small messages point at the network or at a stage\'s event loop; keep a pipeline\'s pods on one node.',
          exporter: 'worker',
          unit: 's',
          width: 12,
          queries: [0.5, 0.99].map((q) => ({ expr: quantile(q, METRICS.hopLatency, W, ['kind']), legend: `{{kind}} p${q * 100}` })),
        },
        {
          title: 'Hop traffic',
          description: 'Activation bytes per second each stage sends to the next.',
          exporter: 'worker',
          unit: 'Bps',
          queries: [{ expr: agg('sum', ['stage'], rate(METRICS.hopBytes, W)), legend: 'stage {{stage}}' }],
        },
        {
          title: 'Hop message size',
          description: 'Size of the activation batches sent to the next stage (p50, p99): hidden_size values per token per sequence.',
          exporter: 'worker',
          unit: 'bytes',
          queries: [0.5, 0.99].map((q) => ({ expr: quantile(q, METRICS.hopMessageBytes, W, ['stage']), legend: `stage {{stage}} p${q * 100}` })),
        },
        {
          title: 'Micro-batches in flight',
          description: 'Micro-batches travelling round each ring. With fewer in flight than stages, some GPUs idle: raise --max-in-flight or send more concurrent requests.',
          exporter: 'worker',
          unit: 'none',
          queries: [{ expr: agg('sum', ['pipeline'], selector(METRICS.microBatchesInFlight, W)), legend: '{{pipeline}}' }],
        },
        {
          title: 'Continuous batch',
          description: 'Sequences in each driver\'s continuous batch, and sequences waiting for KV cache room before they start. Admission waiting > 0 means the KV budget, not the queue, limits concurrency: raise kvBudgetMb.',
          exporter: 'worker',
          unit: 'none',
          queries: [
            { expr: agg('sum', ['pipeline'], selector(METRICS.sequencesRunning, W)), legend: '{{pipeline}} running' },
            { expr: agg('sum', ['pipeline'], selector(METRICS.admissionWaiting, W)), legend: '{{pipeline}} waiting for KV' },
          ],
        },
        {
          title: 'KV cache usage per stage',
          description: 'Fraction of each stage\'s KV cache budget in use (1 = full).',
          exporter: 'worker',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [{ expr: agg('max', ['pipeline', 'stage'], selector(METRICS.kvUsage, W)), legend: '{{pipeline}} stage {{stage}}' }],
        },
        {
          title: 'KV cache tokens',
          description: 'KV cache tokens used and capacity per stage, summed over pipelines.',
          exporter: 'worker',
          unit: 'short',
          queries: [{ expr: agg('sum', ['stage', 'state'], selector(METRICS.kvTokens, W)), legend: 'stage {{stage}} {{state}}' }],
        },
        {
          title: 'Prefix cache hit rate',
          description: 'Share of prompt tokens whose KV came from the prefix cache (cached_tokens) instead of prefill, per pipeline. Repeated prompts and multi-turn chats should show here; near 0 with such traffic means the cache is off (--prefix-cache) or evicted before reuse (KV budget too small).',
          exporter: 'worker',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [
            {
              expr: `${agg('sum', ['pipeline'], rate(METRICS.prefixCacheHits, W))} / clamp_min(${agg('sum', ['pipeline'], rate(METRICS.prefixCacheQueries, W))}, 1e-9)`,
              legend: '{{pipeline}}',
            },
          ],
        },
        {
          title: 'Ring health',
          description: '1 while a pipeline\'s ring is whole (as stage 0 reports it), 0 while a stage is missing: its sequences fail fast and their jobs are retried when the ring is back.',
          exporter: 'worker',
          unit: 'none',
          min: 0,
          max: 1,
          queries: [{ expr: agg('max', ['pipeline'], selector(METRICS.ringWhole, W)), legend: '{{pipeline}}' }],
        },
        {
          title: 'Sequence retries',
          description: 'Sequences per second failed by a broken ring and handed back to the queue.',
          exporter: 'worker',
          unit: 'short',
          queries: [{ expr: agg('sum', ['pipeline'], rate(METRICS.retries, W)), legend: '{{pipeline}}' }],
        },
        {
          title: 'Worker restarts',
          description: 'Times each stage\'s worker started again in the last hour. Restarts of one stage break its ring each time: look at that pod\'s logs and events (OOM, GPU errors).',
          exporter: 'worker',
          unit: 'none',
          queries: [{ expr: agg('sum', ['pipeline', 'stage'], increase(METRICS.workerRestarts, W, '', '1h')), legend: '{{pipeline}} stage {{stage}}' }],
        },
      ],
    },
  ];
}

function variables(): TemplateVariable[] {
  const q = (name: string, label: string, metric: MetricDef, labelName: string, extra: Partial<TemplateVariable>): TemplateVariable => {
    const definition = `label_values(${metric.name}, ${labelName})`;
    return {
      name,
      label,
      type: 'query',
      hide: 0,
      datasource: DS,
      definition,
      query: { qryType: 1, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
      current: {},
      options: [],
      refresh: 2,
      regex: '',
      sort: 1,
      ...extra,
    };
  };
  return [
    { name: 'DS_PROMETHEUS', label: 'Datasource', type: 'datasource', hide: 0, query: 'prometheus', current: {}, options: [], refresh: 1, regex: '' },
    q('model_name', 'Model', METRICS.running, 'model_name', { includeAll: false, multi: false, description: 'Served model name (the gateway\'s model_name label).' }),
    q('pipeline', 'Pipeline', METRICS.ringWhole, 'pipeline', { includeAll: true, multi: true, allValue: '.*', current: { selected: true, text: ['All'], value: ['$__all'] }, description: 'Pipeline replicas (the workers\' pipeline label, one per StatefulSet).' }),
  ];
}

/** Lays the rows out on Grafana's 24-column grid and numbers the panels. */
function layout(specs: RowSpec[]): Panel[] {
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  const HEIGHT = 8;
  for (const row of specs) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? 8;
      const h = p.type === 'stat' ? 4 : HEIGHT;
      if (x + w > 24) {
        x = 0;
        y += HEIGHT;
      }
      panels.push(graphPanel(id++, p, { h, w, x, y }));
      x += w;
    }
    y += row.panels.some((p) => p.type !== 'stat') ? HEIGHT : 4;
  }
  return panels;
}

function graphPanel(id: number, p: PanelSpec, gridPos: GraphPanel['gridPos']): GraphPanel {
  const type = p.type ?? 'timeseries';
  const targets: PrometheusTarget[] = p.queries.map((q, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    legendFormat: q.legend,
    editorMode: 'code',
    range: true,
    ...(type === 'heatmap' ? { format: 'heatmap' as const } : {}),
  }));
  const defaults: GraphPanel['fieldConfig']['defaults'] = { unit: p.unit };
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  let options: Record<string, unknown>;
  if (type === 'timeseries') {
    defaults.color = { mode: 'palette-classic' };
    defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false };
    options = { legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] }, tooltip: { mode: 'multi', sort: 'desc' } };
  } else if (type === 'heatmap') {
    options = {
      calculate: false,
      cellGap: 1,
      color: { mode: 'scheme', scheme: 'Spectral', steps: 64, exponent: 0.5, fill: 'dark-orange', reverse: false },
      yAxis: { axisPlacement: 'left', unit: p.unit },
      rowsFrame: { layout: 'auto' },
      tooltip: { mode: 'single', yHistogram: false },
      legend: { show: true },
    };
  } else {
    defaults.color = { mode: 'thresholds' };
    defaults.thresholds = { mode: 'absolute', steps: [{ color: 'green', value: null }] };
    options = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', justifyMode: 'auto', orientation: 'auto', textMode: 'auto' };
  }
  return {
    id,
    type,
    title: p.title,
    description: `${p.description}\n\n${EXPORTED_BY}${p.exporter}`,
    datasource: DS,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options,
    targets,
  };
}

/** The dashboard object (stable: the same input always gives the same JSON). */
export function buildIvlDashboard(): Dashboard {
  return {
    uid: 'ivl-cluster',
    title: 'ivl-cluster: InternVL2.5 pipeline serving',
    description: 'Requests (gateway) and pipelines (stage workers) of an ivl-cluster deployment. Generated by libs/telemetry/src/dashboard from the metric catalog; do not edit the JSON by hand.',
    tags: ['ivl-cluster', 'llm', 'inference'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [],
    templating: { list: variables() },
    panels: layout(rows()),
  };
}

/** The dashboard as the committed files hold it. */
export function ivlDashboardJson(): string {
  return `${JSON.stringify(buildIvlDashboard(), null, 2)}\n`;
}

/** Where the generated JSON is committed (relative to the repository root). */
export const DASHBOARD_FILES = ['infra/grafana/ivl-cluster.json', 'helm/ivl-cluster/files/ivl-cluster-dashboard.json'] as const;
