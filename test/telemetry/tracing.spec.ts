import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, Server } from 'node:http';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

/** A minimal OTLP/HTTP (JSON) trace receiver: what an OpenTelemetry collector would get from every process. */
function startCollector(spans: CollectedSpan[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              const attributes: Record<string, unknown> = {};
              for (const a of s.attributes ?? []) attributes[a.key] = Object.values(a.value ?? {})[0];
              spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, attributes });
            }
          }
        }
      } catch {
        /* not JSON: ignored */
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

/** One trace per request: the HTTP call, the queue, the driver and every stage hop share one trace id. */
describe('tracing across gateway, queue and stages', () => {
  const spans: CollectedSpan[] = [];
  let collector: { server: Server; url: string };
  let cluster: TestCluster;
  beforeAll(async () => {
    collector = await startCollector(spans);
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
    try {
      cluster = await startTestCluster({ model: tinyCheckpoint('tiny'), stages: 3, port: 0, grpcPort: 0 });
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    }
  });
  afterAll(async () => {
    await cluster?.stop();
    collector?.server.close();
  });

  it('a chat completion is one trace from the HTTP span to stage 2', async () => {
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/v1/models`);
    const model = ((await res.json()) as { data: Array<{ id: string }> }).data[0].id;
    const r = await fetch(`http://127.0.0.1:${cluster.httpPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Trace me.' }], max_tokens: 6, temperature: 0 }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { id: string };
    // Exporters batch spans for up to 500 ms; wait until the stage spans of this request arrived.
    const jobId = body.id.replace(/^chatcmpl-/, '');
    let trace: CollectedSpan[] = [];
    for (let i = 0; i < 100; i++) {
      const root = spans.find((s) => s.service === 'ivl-gateway' && s.attributes['gen_ai.response.id'] === jobId);
      trace = root ? spans.filter((s) => s.traceId === root.traceId) : [];
      const have = new Set(trace.map((s) => s.name));
      if (['stage 2 forward', 'decode', `chat ${model}`].every((n) => have.has(n)) && trace.some((s) => s.name.startsWith('process '))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const names = new Set(trace.map((s) => `${s.service}:${s.name}`));
    expect([...names]).toEqual(
      expect.arrayContaining([`ivl-gateway:chat ${model}`, 'ivl-worker:preprocess', 'ivl-worker:prefill', 'ivl-worker:decode', 'ivl-worker:stage 1 forward', 'ivl-worker:stage 2 forward']),
    );
    expect(trace.some((s) => s.service === 'ivl-gateway' && /ivl-generate/.test(s.name))).toBe(true);
    expect(trace.some((s) => s.service === 'ivl-worker' && /process ivl-generate/.test(s.name))).toBe(true);
    const workerChat = trace.find((s) => s.service === 'ivl-worker' && s.name.startsWith('chat '));
    expect(workerChat?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.max_tokens': 6, 'gen_ai.usage.output_tokens': expect.anything() });
  });
});
