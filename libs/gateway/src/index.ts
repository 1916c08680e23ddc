// The gateway: OpenAI-compatible REST (NestJS), the gRPC API and batch jobs in front of the generate queue.
export { startGateway, gatewayNamespace, type GatewayHandle } from './start-gateway';
export { DEFAULT_GATEWAY_LIMITS, gatewayEnv, type GatewayLimits, type GatewayLogger, type GatewayOptions } from './config';
export { openApiDocument } from './openapi';
export { GatewayServices } from './services/gateway-services';
export { ApiKeys, LOCAL_PRINCIPAL } from './services/api-keys';
export { RateLimiter } from './services/rate-limiter';
export { PIPELINE_STALE_MS, PipelineReadiness, type PipelineAnnouncement } from './services/readiness';
export { consoleLogger, silentLogger } from './logger';
export { benchGatewayOverhead, type OverheadOptions, type OverheadResult } from './bench/gateway-overhead';
export * from './gateway-command';
