import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PreparedChat } from '@ivl/openai-api';
import type { GenerateClient, GenerateJobResult, TokenEvent } from '@ivl/queue';
import { GatewayMetricKey, Span, SpanKind, createMetrics, tracer, tracingEnabled, context, trace, initTracing } from '@ivl/telemetry';

interface Open {
  start: number;
  promptTokens: number;
  maxTokens: number;
  span?: Span;
  ctx?: ReturnType<typeof context.active>;
}

/**
 * The request-level metrics (vLLM's names under `ivl:`, the GenAI server histograms) measured where every request
 * is seen end to end, the queue depth, and one trace per request whose context rides the job into the pipeline.
 */
export class GatewayTelemetry {
  readonly metrics = createMetrics<GatewayMetricKey>('gateway');
  private readonly open = new Map<string, Open>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly modelName: string) {
    initTracing('ivl-gateway');
    // Every labelled series exists from the first scrape (at zero): Prometheus can then see the first requests as
    // an increase, and dashboards show 0 rather than no data.
    const model = { model_name: modelName };
    for (const h of [this.m.timeToFirstToken, this.m.interTokenLatency, this.m.e2eLatency, this.m.queueTime, this.m.prefillTime, this.m.decodeTime, this.m.requestPromptTokens, this.m.requestGenerationTokens, this.m.requestMaxGenerationTokens]) h.zero(model);
    for (const c of [this.m.promptTokens, this.m.generationTokens, this.m.jobRetries]) c.inc(model, 0);
    for (const reason of ['stop', 'length', 'cancelled', 'error']) this.m.requestSuccess.inc({ ...model, finished_reason: reason }, 0);
    this.m.genAiTtft.zero(this.genai());
    this.m.genAiTpot.zero(this.genai());
    this.m.genAiDuration.zero(this.genai({ error_type: '' }));
  }

  get m() {
    return this.metrics.m;
  }

  /** Queue depth by state, refreshed every 2 s. */
  startQueuePolling(client: GenerateClient): void {
    const poll = async () => {
      const c = await client.counts().catch(() => undefined);
      if (!c) return;
      for (const [state, n] of Object.entries(c)) this.m.queueJobs.set({ state }, n);
      this.m.waiting.set({ model_name: this.modelName }, (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0));
      this.m.running.set({ model_name: this.modelName }, c.active ?? 0);
    };
    this.timer = setInterval(() => void poll(), 2000);
    void poll();
  }

  /** Runs the enqueue inside the request's span, so the job (BullMQ telemetry) carries its context. */
  async begin(prepared: PreparedChat, enqueue: () => Promise<string>): Promise<string> {
    const start = Date.now();
    let span: Span | undefined;
    if (tracingEnabled()) {
      const s = prepared.submit.sampling ?? {};
      span = tracer().startSpan(`chat ${this.modelName}`, {
        kind: SpanKind.SERVER,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'ivl-cluster',
          'gen_ai.request.model': prepared.model,
          'gen_ai.request.max_tokens': s.maxNewTokens ?? 0,
          'gen_ai.request.temperature': s.temperature ?? 1,
          'gen_ai.request.top_p': s.topP ?? 1,
          'gen_ai.usage.input_tokens': prepared.promptTokens,
        },
      });
    }
    const ctx = span ? trace.setSpan(context.active(), span) : undefined;
    const jobId = ctx ? await context.with(ctx, enqueue) : await enqueue();
    span?.setAttribute('gen_ai.response.id', jobId);
    this.open.set(jobId, { start, promptTokens: prepared.promptTokens, maxTokens: prepared.submit.sampling?.maxNewTokens ?? 0, span, ctx });
    return jobId;
  }

  /** Wraps a job's token stream, timing first token, gaps between tokens and the end. */
  async *observe(jobId: string, events: AsyncIterable<TokenEvent>, result: () => Promise<GenerateJobResult | undefined>): AsyncGenerator<TokenEvent> {
    const o = this.open.get(jobId);
    let last = 0;
    let generated = 0;
    let first = 0;
    const model = { model_name: this.modelName };
    for await (const e of events) {
      if (o && e.kind === 'tokens' && e.tokens.length) {
        const now = Date.now();
        if (!first) {
          first = now;
          this.m.timeToFirstToken.observe(model, (now - o.start) / 1000);
          this.m.genAiTtft.observe(this.genai(), (now - o.start) / 1000);
        } else {
          // A stream entry may hold several tokens (a character split over bytes): spread the gap over them.
          const per = (now - last) / 1000 / e.tokens.length;
          for (let i = 0; i < e.tokens.length; i++) {
            this.m.interTokenLatency.observe(model, per);
            this.m.genAiTpot.observe(this.genai(), per);
          }
        }
        last = now;
        generated += e.tokens.length;
      }
      // Recorded before the end event is handed on: a consumer may stop iterating as soon as it sees it.
      if (o && e.kind === 'end') {
        this.open.delete(jobId);
        this.finish(o, e, generated, result);
      }
      yield e;
    }
  }

  private genai(extra: Record<string, string> = {}) {
    return { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'ivl-cluster', gen_ai_request_model: this.modelName, ...extra };
  }

  private finish(o: Open, e: Extract<TokenEvent, { kind: 'end' }>, generated: number, result: () => Promise<GenerateJobResult | undefined>): void {
    const model = { model_name: this.modelName };
    const seconds = (Date.now() - o.start) / 1000;
    this.m.e2eLatency.observe(model, seconds);
    this.m.genAiDuration.observe(this.genai(e.finishReason === 'error' ? { error_type: 'generation_failed' } : { error_type: '' }), seconds);
    this.m.promptTokens.inc(model, o.promptTokens);
    this.m.generationTokens.inc(model, generated);
    this.m.requestPromptTokens.observe(model, o.promptTokens);
    this.m.requestGenerationTokens.observe(model, generated);
    this.m.requestMaxGenerationTokens.observe(model, o.maxTokens);
    this.m.requestSuccess.inc({ ...model, finished_reason: e.finishReason });
    o.span?.setAttributes({ 'gen_ai.usage.output_tokens': generated, 'gen_ai.response.finish_reasons': [e.finishReason] });
    o.span?.end();
    // Queue, prefill and decode times are measured by the worker and stored with the result.
    void result().then(
      (r) => {
        if (!r) return;
        this.m.queueTime.observe(model, r.timings.queueMs / 1000);
        this.m.prefillTime.observe(model, r.timings.prefillMs / 1000);
        this.m.decodeTime.observe(model, r.timings.decodeMs / 1000);
        if ((r.attempt ?? 0) > 0) this.m.jobRetries.inc(model);
      },
      () => undefined,
    );
  }

  /** Express middleware serving GET /metrics. */
  middleware() {
    return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') return next();
      this.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(text),
        (err) => res.writeHead(500).end(String(err)),
      );
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
