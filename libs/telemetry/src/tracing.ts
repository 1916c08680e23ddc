import { Attributes, Context, Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

let provider: NodeTracerProvider | undefined;

/** The OTLP/HTTP traces endpoint, if configured (tracing is off otherwise). */
export function otlpEndpoint(): string | undefined {
  const base = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return undefined;
  return process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? base : `${base.replace(/\/$/, '')}/v1/traces`;
}

/**
 * Starts exporting traces over OTLP when an endpoint is configured (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT). Without
 * one nothing is registered: the OpenTelemetry API stays a no-op and `tracingEnabled()` lets hot paths skip even
 * building span attributes.
 */
export function initTracing(serviceName: string, attributes: Attributes = {}): boolean {
  const url = otlpEndpoint();
  if (!url || provider) return Boolean(provider);
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, ...attributes }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500 })],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return true;
}

export function tracingEnabled(): boolean {
  return provider !== undefined;
}

export async function shutdownTracing(): Promise<void> {
  await provider?.shutdown().catch(() => undefined);
  provider = undefined;
}

export function tracer() {
  return trace.getTracer('ivl-cluster');
}

/** W3C trace context of `ctx` as a plain record (for job data and activation batches). */
export function injectContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (provider) propagation.inject(ctx, carrier);
  return carrier;
}

export function extractContext(carrier: Record<string, string> | undefined): Context {
  return carrier && provider ? propagation.extract(context.active(), carrier) : context.active();
}

/** Runs `fn` inside a span (ended when it settles, errors recorded); a plain call when tracing is off. */
export async function withSpan<T>(name: string, attrs: Attributes | (() => Attributes), fn: (span?: Span) => Promise<T>, opts: { parent?: Context; kind?: SpanKind } = {}): Promise<T> {
  if (!provider) return fn(undefined);
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: typeof attrs === 'function' ? attrs() : attrs }, opts.parent ?? context.active());
  try {
    return await context.with(trace.setSpan(opts.parent ?? context.active(), span), () => fn(span));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    span.setAttribute('error.type', (e as Error).name ?? 'Error');
    throw e;
  } finally {
    span.end();
  }
}

export { SpanKind, context, trace };
export type { Span, Context, Attributes };
