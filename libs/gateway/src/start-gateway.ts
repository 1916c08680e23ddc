import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import IORedis from 'ioredis';
import { BatchApi, BatchProcessor, BatchStore, DEFAULT_BATCH_OPTIONS, FilesStore } from '@ivl/batch';
import { type GrpcServerHandle, startGrpcServer } from '@ivl/client-grpc';
import { loadServedModel } from '@ivl/openai-api';
import { PromptLengthBound, TokenizerPool } from '@ivl/prompt';
import { GenerateClient, keys } from '@ivl/queue';
import { initTracing } from '@ivl/telemetry';
import { bodyErrors } from './body-errors';
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits, type GatewayLogger, type GatewayOptions } from './config';
import { consoleLogger, nestLogger, silentLogger } from './logger';
import { GatewayModule } from './nest/gateway.module';
import { OpenAIExceptionFilter } from './nest/openai-exception.filter';
import { openApiDocument } from './openapi';
import { servePlayground } from './playground';
import { batchRunner } from './services/batch-runner';
import { GatewayServices } from './services/gateway-services';

export interface GatewayHandle {
  httpPort: number;
  /** Undefined when no gRPC port was asked for. */
  grpcPort?: number;
  /** http://host:port of the REST API. */
  url: string;
  services: GatewayServices;
  /**
   * Graceful stop: readiness turns false and new generation requests get 503 at once, listeners close, requests and
   * streams in flight finish for up to graceMs (default 30 s), then the rest is cut and connections are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Keys of our own in Redis, beside the queue's: one namespace per queue prefix, so clusters sharing a Redis stay apart. */
export const gatewayNamespace = (queuePrefix?: string) => `ivl:gw:${queuePrefix ?? 'default'}`;

/** Starts the REST API (NestJS), the gRPC API and the batch processor in this process. */
export async function startGateway(opts: GatewayOptions): Promise<GatewayHandle> {
  // Before any client or queue exists, so the queue is created with BullMQ's telemetry when tracing is on.
  initTracing('ivl-gateway');
  const log: GatewayLogger = opts.logger === 'silent' ? silentLogger : (opts.logger ?? consoleLogger);
  const limits: GatewayLimits = { ...DEFAULT_GATEWAY_LIMITS, ...opts.limits };
  const names = typeof opts.servedModelName === 'string' ? [opts.servedModelName] : opts.servedModelName;
  // The threads that tokenize prompts load the same tokenizer files meanwhile.
  const [model, tokenizerPool] = await Promise.all([
    loadServedModel(opts.modelDir, names, limits.maxContextTokens),
    TokenizerPool.start({ modelDir: opts.modelDir, threads: limits.tokenizerThreads, maxQueued: limits.tokenizerMaxQueued, timeoutMs: limits.tokenizeTimeoutMs }),
  ]);
  // One scan of the vocabulary, now rather than in the first request.
  PromptLengthBound.of(model.tokenizer);
  // Loopback unless told otherwise (--host 0.0.0.0 in a container): authentication is off by default.
  const host = opts.host ?? '127.0.0.1';
  const ns = gatewayNamespace(opts.queuePrefix);

  // While Redis is down requests get 503 redis_unavailable; the connections' errors are logged once per outage
  // (an 'error' event without a listener would be printed for every reconnect attempt).
  let redisDown = false;
  const onRedisError = (e: Error) => {
    if (!redisDown) log.warn(`redis: ${e.message}; answering 503 until it is back`);
    redisDown = true;
  };
  const redis = new IORedis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', onRedisError);
  redis.on('ready', () => {
    if (redisDown) log.log('redis: connected again');
    redisDown = false;
  });
  const client = new GenerateClient(opts.redisUrl, { prefix: opts.queuePrefix, onError: onRedisError });
  const services = new GatewayServices(redis, client, model, limits, ns, {
    apiKeys: opts.apiKeys ?? [],
    pipelinesKey: opts.pipelinesKey ?? keys.pipelines,
    queuePrefix: opts.queuePrefix,
    addressPolicy: opts.addressPolicy,
    encoder: tokenizerPool,
  });
  const files = new FilesStore(redis, ns);
  const batchStore = new BatchStore(redis, ns);
  const batchApi = new BatchApi(files, batchStore, limits);

  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(services, batchApi, openApiDocument(model.names)), new ExpressAdapter(), {
    bodyParser: false,
    logger: nestLogger(log),
    abortOnError: false,
  });
  app.use(services.telemetry.middleware());
  services.telemetry.startQueuePolling(client);
  app.useBodyParser('json', { limit: limits.maxBodyBytes });
  app.use(bodyErrors(limits.maxBodyBytes));
  // swagger-ui-dist ships the UI as static files (it has no typings; its folder is all we need).
  app.useStaticAssets(dirname(require.resolve('swagger-ui-dist/package.json')), { prefix: '/docs/assets', index: false });
  servePlayground(app, log);
  app.useGlobalFilters(new OpenAIExceptionFilter(log));
  await app.listen(opts.port ?? 8000, host);
  const server = app.getHttpServer() as import('node:http').Server;
  const httpPort = (server.address() as AddressInfo).port;

  let grpc: GrpcServerHandle | undefined;
  if (opts.grpcPort !== undefined && opts.grpcPort !== null) grpc = await startGrpcServer(services, host, opts.grpcPort);

  let processor: BatchProcessor | undefined;
  if (opts.batchProcessor !== false) {
    const bopts = { ...DEFAULT_BATCH_OPTIONS, maxLines: limits.maxBatchLines, log: log.log, ...(typeof opts.batchProcessor === 'object' ? opts.batchProcessor : {}) };
    processor = new BatchProcessor(batchStore, files, batchRunner(services, opts.batchPriority ?? 10), bopts);
    processor.start();
  }

  if (!services.keys.enabled) {
    log.warn('no API key configured (IVL_API_KEYS): authentication is OFF, anyone who can reach this port can use the API');
  }
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  log.log(`serving ${model.names.join(', ')} (context ${model.contextLength} tokens) on http://${shown}:${httpPort}${grpc ? ` and gRPC ${shown}:${grpc.port}` : ''}; queue prefix ${opts.queuePrefix ?? '(default)'}`);

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000) =>
    (closing ??= (async () => {
      services.draining = true;
      await processor?.stop();
      // No new connections; idle keep-alive sockets close now, busy ones when their response ends.
      const httpClosed = new Promise<void>((r) => server.close(() => r()));
      const grpcClosed = grpc?.close(graceMs);
      if (!(await services.drained(graceMs))) log.warn(`${services.inflightCount} request(s) still running after ${graceMs} ms; ending them`);
      // Ends what still runs, and cancels the jobs of streams whose clients left and did not resume; then waits
      // for those cancels to reach Redis before the connections close.
      services.endGrace();
      await services.drained(2000);
      server.closeAllConnections();
      await Promise.all([httpClosed, grpcClosed]);
      await app.close().catch(() => undefined);
      services.telemetry.stop();
      await client.close();
      await redis.quit().catch(() => undefined);
      await tokenizerPool.close();
      log.log('gateway stopped');
    })());

  return { httpPort, grpcPort: grpc?.port, url: `http://${shown}:${httpPort}`, services, close };
}
