/**
 * The Grafana dashboard against the metric catalog: every query names catalog series only (with their own labels,
 * from the process that exports them), every catalog metric is charted, and the committed JSON (infra/grafana and
 * the Helm chart's copy) is what the generator writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DASHBOARD_FILES,
  EXPORTED_BY,
  EXPORTER_LABELS,
  GraphPanel,
  METRICS,
  MetricDef,
  TARGET_LABELS,
  buildIvlDashboard,
  catalogMetric,
  ivlDashboardJson,
  metricSelectors,
} from '@ivl/telemetry';

const root = join(__dirname, '..', '..');
const dashboard = buildIvlDashboard();
const graphs = dashboard.panels.filter((p): p is GraphPanel => p.type !== 'row');
const catalog = Object.values(METRICS) as MetricDef[];

function panelExporter(p: GraphPanel): string | undefined {
  return new RegExp(`${EXPORTED_BY}(\\w+)\\s*$`).exec(p.description)?.[1];
}

describe('Grafana dashboard', () => {
  it('the committed JSON files are what the generator writes (run `node tools/dashboard.mjs` after changing it)', () => {
    const json = ivlDashboardJson();
    for (const rel of DASHBOARD_FILES) expect(readFileSync(join(root, rel), 'utf8'), rel).toBe(json);
    expect(JSON.parse(json)).toEqual(dashboard);
  });

  it('every query names catalog series, from the exporter its panel declares, with labels those series have', () => {
    const problems: string[] = [];
    let selectors = 0;
    for (const p of graphs) {
      const exporter = panelExporter(p);
      if (exporter !== 'gateway' && exporter !== 'worker') {
        problems.push(`${p.title}: no "${EXPORTED_BY}gateway|worker" line in its description`);
        continue;
      }
      for (const t of p.targets) {
        const where = `${p.title} [${t.refId}] ${t.expr}`;
        const sels = metricSelectors(t.expr);
        if (!sels.length) problems.push(`${where}: no metric`);
        const groupLabels = new Set<string>();
        for (const s of sels) {
          selectors++;
          const def = catalogMetric(s.name);
          if (!def) {
            problems.push(`${where}: ${s.name || '(no name)'} is not a series of a catalog metric`);
            continue;
          }
          if (def.exporter !== exporter) problems.push(`${where}: ${def.name} is exported by the ${def.exporter}, the panel says ${exporter}`);
          const allowed = new Set([...def.labels, ...EXPORTER_LABELS[def.exporter], ...TARGET_LABELS, ...(s.name.endsWith('_bucket') ? ['le'] : [])]);
          for (const l of s.labels) if (!allowed.has(l)) problems.push(`${where}: ${def.name} has no label ${l}`);
          for (const l of allowed) groupLabels.add(l);
          // Counters are only meaningful as rates; buckets only inside a quantile or a heatmap.
          if (def.kind === 'counter' && !new RegExp(`(rate|increase)\\(${s.name.replace(/[:]/g, '\\$&')}\\b`).test(t.expr)) problems.push(`${where}: counter ${def.name} outside rate()/increase()`);
          if (s.name.endsWith('_bucket') && !(t.expr.startsWith('histogram_quantile(') || t.format === 'heatmap')) problems.push(`${where}: ${s.name} outside a quantile or heatmap`);
        }
        for (const m of t.expr.matchAll(/\bby \(([^)]*)\)/g)) {
          for (const l of m[1].split(',').map((x) => x.trim())) if (!groupLabels.has(l)) problems.push(`${where}: groups by ${l}, a label none of its series has`);
        }
        for (const m of t.legendFormat.matchAll(/\{\{(\w+)\}\}/g)) {
          if (!groupLabels.has(m[1])) problems.push(`${where}: legend uses {{${m[1]}}}, a label none of its series has`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(selectors).toBeGreaterThan(50);
  });

  it('every catalog metric appears in at least one panel', () => {
    const used = new Set<string>();
    for (const p of graphs) for (const t of p.targets) for (const s of metricSelectors(t.expr)) {
      const def = catalogMetric(s.name);
      if (def) used.add(def.name);
    }
    expect(catalog.map((d) => d.name).filter((n) => !used.has(n))).toEqual([]);
  });

  it('covers the issue\'s list of views', () => {
    const titles = graphs.map((p) => p.title.toLowerCase());
    for (const want of [
      'time to first token',
      'inter-token latency',
      'e2e request latency',
      'queue time',
      'prefill and decode time',
      'scheduler state',
      'token throughput',
      'kv cache usage per stage',
      'finished requests by reason',
      'gen_ai.server.time_to_first_token',
      'gen_ai.server.time_per_output_token',
      'gen_ai.server.request.duration',
      'stage forward time',
      'hop latency',
      'hop traffic',
      'micro-batches in flight',
      'queue depth by state',
      'job retries',
      'sequence retries',
      'worker restarts',
      'ring health',
    ]) {
      expect(titles, want).toContain(want);
    }
    // Latency panels show p50, p90 and p99 like vLLM's.
    for (const title of ['E2E request latency', 'Time to first token', 'Inter-token latency', 'Queue time']) {
      const p = graphs.find((g) => g.title === title)!;
      expect(p.targets.map((t) => t.legendFormat)).toEqual(['p50', 'p90', 'p99', 'mean']);
    }
  });

  it('uses the DS_PROMETHEUS datasource variable and model_name / pipeline variables built on catalog metrics', () => {
    const vars = dashboard.templating.list;
    expect(vars.map((v) => v.name)).toEqual(['DS_PROMETHEUS', 'model_name', 'pipeline']);
    expect(vars[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of vars.slice(1)) {
      const m = /^label_values\(([^,]+), (\w+)\)$/.exec(v.definition ?? '');
      expect(m, v.name).not.toBeNull();
      const def = catalogMetric(m![1]);
      expect(def, v.name).toBeDefined();
      expect([...def!.labels, ...EXPORTER_LABELS[def!.exporter]]).toContain(m![2]);
      expect(v.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
    for (const p of graphs) {
      expect(p.datasource.uid, p.title).toBe('${DS_PROMETHEUS}');
      for (const t of p.targets) expect(t.datasource.uid).toBe('${DS_PROMETHEUS}');
      // Gateway panels follow the model variable, worker panels the pipeline variable.
      const exporter = panelExporter(p);
      const filtered = p.targets.filter((t) => t.expr.includes(exporter === 'worker' ? 'pipeline=~"$pipeline"' : 'model_name="$model_name"'));
      const unfilterable = p.targets.every((t) => metricSelectors(t.expr).every((s) => !catalogMetric(s.name)?.labels.includes('model_name')));
      if (!(exporter === 'gateway' && unfilterable)) expect(filtered.length, `${p.title} follows its variable`).toBe(p.targets.length);
    }
  });

  it('lays panels out on the 24-column grid without overlaps, with unique ids', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const k = `${x},${y}`;
          expect(cells.has(k), `${p.title} overlaps at ${k}`).toBe(false);
          cells.add(k);
        }
    }
  });

  it('reads metric selectors out of PromQL', () => {
    expect(metricSelectors('histogram_quantile(0.9, sum by (le, stage) (rate(ivl:stage_forward_seconds_bucket{pipeline=~"$pipeline", kind="decode"}[$__rate_interval])))')).toEqual([
      { name: 'ivl:stage_forward_seconds_bucket', labels: ['pipeline', 'kind'] },
    ]);
    expect(metricSelectors('sum(rate(a_sum[5m])) / sum without (x) (rate(a_count{y="a}b"}[5m])) > bool 0')).toEqual([
      { name: 'a_sum', labels: [] },
      { name: 'a_count', labels: ['y'] },
    ]);
    expect(metricSelectors('max by (state) (ivl:queue_jobs) offset 5m')).toEqual([{ name: 'ivl:queue_jobs', labels: [] }]);
    expect(catalogMetric('ivl:e2e_request_latency_seconds_bucket')?.name).toBe('ivl:e2e_request_latency_seconds');
    expect(catalogMetric('ivl:e2e_request_latency_seconds')).toBeUndefined(); // a histogram has no bare series
    expect(catalogMetric('ivl:prompt_tokens_total')?.kind).toBe('counter');
    expect(catalogMetric('ivl:prompt_tokens_total_bucket')).toBeUndefined();
  });
});
