/**
 * The dashboard against live data: a real Prometheus (Debian's `prometheus` package) scrapes a local cluster (the
 * gateway and a 2-stage pipeline's workers, every second) while a dozen generation requests run, then every query
 * of the dashboard goes through Prometheus's HTTP API and must return data. A second test reads the gateway's and
 * the workers' /metrics directly: every metric the dashboard names is exported, by the process the catalog says.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@ivl/local-cluster';
import { GenerateClient } from '@ivl/queue';
import { GraphPanel, METRICS, MetricDef, buildIvlDashboard, catalogMetric, metricSelectors } from '@ivl/telemetry';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

const APT_HINT = 'apt-get install -y --no-install-recommends prometheus';

/** The prometheus binary: $IVL_PROMETHEUS_BIN, or `prometheus` on the PATH (Debian installs /usr/bin/prometheus). */
function prometheusBinary(): string {
  const explicit = process.env.IVL_PROMETHEUS_BIN;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`IVL_PROMETHEUS_BIN=${explicit} does not exist`);
    return explicit;
  }
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    const p = join(dir, 'prometheus');
    if (dir && existsSync(p)) return p;
  }
  throw new Error(
    `this test needs a real Prometheus and none is installed. Install Debian's package (\`${APT_HINT}\`; CI does this in .ci/run) ` +
      'or point IVL_PROMETHEUS_BIN at a prometheus 2.x binary.',
  );
}

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

const dashboard = buildIvlDashboard();
const graphs = dashboard.panels.filter((p): p is GraphPanel => p.type !== 'row');

/** `# TYPE name kind` lines of a Prometheus text exposition. */
function exposedTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1], m[2]);
  return types;
}

describe('the dashboard on a live Prometheus scraping a local cluster under load', () => {
  let cluster: TestCluster;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let promStarted = 0;
  let promLog = '';
  let dataDir = '';
  let workerPorts: number[] = [];

  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${promUrl}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  };

  beforeAll(async () => {
    const bin = prometheusBinary();
    cluster = await startTestCluster({
      model: tinyCheckpoint('tiny'),
      stages: 2,
      port: 0,
      grpcPort: 0,
      extraGatewayArgs: ['--served-model-name', 'tiny', '--host', '127.0.0.1'],
    });
    // The workers' --metrics-port, as the local cluster assigned them (one per stage).
    workerPorts = cluster.metricsPorts ?? [];
    if (workerPorts.length !== 2) throw new Error(`expected one metrics port per stage, the local cluster reports ${JSON.stringify(workerPorts)}`);

    dataDir = mkdtempSync(join(tmpdir(), 'ivl-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: ivl-gateway',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${cluster.httpPort}']`,
      '  - job_name: ivl-worker',
      '    static_configs:',
      `      - targets: [${workerPorts.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
      '',
    ].join('\n');
    writeFileSync(join(dataDir, 'prometheus.yml'), config);
    const check = spawnSync(bin.replace(/prometheus$/, 'promtool'), ['check', 'config', join(dataDir, 'prometheus.yml')], { encoding: 'utf8' });
    if (check.status !== 0 && !check.error) throw new Error(`promtool rejects the config: ${check.stdout}${check.stderr}`);
    prom = spawn(bin, [`--config.file=${join(dataDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prom.stdout!.on('data', (d) => (promLog += d));
    prom.stderr!.on('data', (d) => (promLog += d));
    promStarted = Date.now();
    for (let i = 0; ; i++) {
      if (await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false)) break;
      if (i > 300 || prom.exitCode !== null) throw new Error(`prometheus did not start:\n${promLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Every target scraped successfully before the load starts.
    for (let i = 0; ; i++) {
      const t = await api<{ activeTargets: Array<{ health: string; scrapeUrl: string; lastError: string; labels: Record<string, string> }> }>('/api/v1/targets', {});
      if (t.activeTargets.length === 3 && t.activeTargets.every((x) => x.health === 'up')) break;
      if (i > 50) {
        const down = t.activeTargets.filter((x) => x.health !== 'up').map((x) => `${x.labels.job} ${x.scrapeUrl}: ${x.health} (${x.lastError})`);
        throw new Error(`Prometheus cannot scrape every target:\n${down.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; (await fetch(`http://127.0.0.1:${cluster.httpPort}/readyz`)).status !== 200; i++) {
      if (i > 200) throw new Error('the gateway did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }

    // Load: a dozen requests through the gateway's REST API (half streamed, for time to first token and inter-token
    // latency), plus a few jobs straight on the queue as other producers send them.
    const base = `http://127.0.0.1:${cluster.httpPort}/v1/chat/completions`;
    const chat = async (i: number) => {
      const stream = i % 2 === 0;
      const res = await fetch(base, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: `Question ${i}: ${'and more '.repeat(i)}?` }], max_tokens: 6 + (i % 5) * 3, temperature: 0.7, stream }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`request ${i}: ${res.status} ${text}`);
    };
    const client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
    try {
      await Promise.all([
        ...Array.from({ length: 12 }, (_, i) => chat(i)),
        ...Array.from({ length: 3 }, (_, i) => client.submit({ input: { question: `queued ${i}` }, sampling: { maxNewTokens: 8, temperature: 0.7 } }).then((id) => client.result(id, 60_000))),
      ]);
    } finally {
      await client.close();
    }
    // Three more scrapes after the last request, so every counter has moved within the window.
    await new Promise((r) => setTimeout(r, 3500));
  }, 240_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await cluster?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('every dashboard query returns data', async () => {
    // The variables, resolved the way Grafana does: label values of the variable's metric.
    const modelNames = await api<string[]>('/api/v1/label/model_name/values', { 'match[]': METRICS.running.name });
    expect(modelNames, 'model_name values of ivl:num_requests_running').toContain('tiny');
    const pipelines = await api<string[]>('/api/v1/label/pipeline/values', { 'match[]': METRICS.ringWhole.name });
    expect(pipelines.length, 'pipeline values of ivl:ring_whole').toBeGreaterThan(0);
    // A rate window that covers everything Prometheus has scraped.
    const window = `${Math.ceil((Date.now() - promStarted) / 1000) + 10}s`;
    const substitute = (expr: string) => expr.replaceAll('$__rate_interval', window).replaceAll('$model_name', 'tiny').replaceAll('$pipeline', '.*');
    const failures: string[] = [];
    let queries = 0;
    for (const p of graphs) {
      for (const t of p.targets) {
        queries++;
        const query = substitute(t.expr);
        const data = await api<{ resultType: string; result: PromVector[] }>('/api/v1/query', { query });
        const values = data.result.map((r) => Number(r.value[1]));
        if (!values.length) failures.push(`${p.title} [${t.refId}]: no series for ${query}`);
        else if (!values.some((v) => Number.isFinite(v))) failures.push(`${p.title} [${t.refId}]: only ${values.join(', ')} for ${query}`);
      }
    }
    expect(failures, `queries without data (Prometheus log:\n${promLog.slice(-2000)})`).toEqual([]);
    expect(queries).toBeGreaterThan(50);
  });

  it('every metric the dashboard names is exported by the gateway or the workers, as the catalog says', async () => {
    const gateway = exposedTypes(await (await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`)).text());
    const workers = await Promise.all(workerPorts.map(async (p) => exposedTypes(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text())));
    const named = new Map<string, MetricDef>();
    for (const p of graphs) for (const t of p.targets) for (const s of metricSelectors(t.expr)) {
      const def = catalogMetric(s.name);
      if (def) named.set(def.name, def);
    }
    for (const v of dashboard.templating.list) {
      const m = /^label_values\(([^,]+),/.exec(v.definition ?? '');
      const def = m && catalogMetric(m[1]);
      if (def) named.set(def.name, def);
    }
    expect(named.size).toBe(Object.keys(METRICS).length);
    const missing: string[] = [];
    for (const def of named.values()) {
      const sources = def.exporter === 'gateway' ? [['gateway', gateway] as const] : workers.map((w, k) => [`worker stage ${k}`, w] as const);
      for (const [who, types] of sources) {
        if (types.get(def.name) !== def.kind) missing.push(`${def.name} (${def.kind}) from the ${who}: ${types.has(def.name) ? `exposed as ${types.get(def.name)}` : 'absent'}`);
      }
      // And never by the other side (one source per series keeps sums honest).
      const other = def.exporter === 'gateway' ? workers : [gateway];
      if (other.some((t) => t.has(def.name))) missing.push(`${def.name} is also exported by the ${def.exporter === 'gateway' ? 'workers' : 'gateway'}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('infra/prometheus/prometheus.yml', () => {
  it('is a valid Prometheus configuration (promtool check config)', () => {
    const promtool = prometheusBinary().replace(/prometheus$/, 'promtool');
    const r = spawnSync(promtool, ['check', 'config', join(__dirname, '..', '..', 'infra', 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
  });
});
