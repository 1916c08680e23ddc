import { DEFAULT_REQUEST_LIMITS, type AddressPolicy, type RequestLimits } from '@ivl/openai-api';
import { DEFAULT_BATCH_OPTIONS } from '@ivl/batch';

/** Limits beyond one request's content: admission, rate, batch files. */
export interface GatewayLimits extends RequestLimits {
  /** Interactive requests waiting in the queue before new ones get 429 + Retry-After (0 = unbounded). */
  maxQueued: number;
  /** Retry-After sent with a queue-full 429. */
  queueRetryAfterSeconds: number;
  /** Requests per minute per API key over REST and gRPC together (0 = off). */
  rateLimitPerMinute: number;
  /** Refuse (503) generation requests while no pipeline has announced itself ready, instead of queueing them. */
  requireReadyPipeline: boolean;
  /** Longest a request may take, streamed or not; past it the job is cancelled (504, or an error event on a stream). */
  requestTimeoutMs: number;
  /**
   * While a pipeline that was ready within this window is coming back (a stage restarting), new requests are
   * queued rather than refused; 503 no_pipeline_ready is for a cluster with no pipeline seen in this window.
   */
  pipelineGraceMs: number;
  /** A stream whose client disconnected keeps its job this long for a resume with Last-Event-ID (0: cancel at once). */
  streamResumeMs: number;
  maxFileBytes: number;
  maxBatchLines: number;
  /** Threads that tokenize prompts off the event loop (default: cores − 1, between 1 and 2). */
  tokenizerThreads?: number;
  /** Prompts waiting for a tokenizer thread before new ones get 503 tokenizer_busy + Retry-After. */
  tokenizerMaxQueued: number;
  /** Longest one prompt may take to tokenize; past it the request gets 400 prompt_too_complex. */
  tokenizeTimeoutMs: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  ...DEFAULT_REQUEST_LIMITS,
  maxQueued: 1000,
  queueRetryAfterSeconds: 2,
  rateLimitPerMinute: 0,
  requireReadyPipeline: true,
  requestTimeoutMs: 600_000,
  pipelineGraceMs: 30_000,
  streamResumeMs: 5_000,
  maxFileBytes: 100 * 1024 * 1024,
  maxBatchLines: 50_000,
  tokenizerMaxQueued: 64,
  tokenizeTimeoutMs: 30_000,
};

export interface GatewayLogger {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface GatewayOptions {
  /** Published checkpoint directory (config.json + tokenizer files); the weights are not read. */
  modelDir: string;
  redisUrl: string;
  /** BullMQ prefix of the generate queue; also namespaces the gateway's own keys (files, batches, limits). */
  queuePrefix?: string;
  host?: string;
  /** REST port; 0 picks a free one (see the returned httpPort). */
  port?: number;
  /** gRPC port; 0 picks a free one; null or undefined: no gRPC server. */
  grpcPort?: number | null;
  /** Accepted Bearer keys; none = authentication off (logged as a warning). */
  apiKeys?: string[];
  /** Model names requests may use; the first is reported. Default: the model directory's basename. */
  servedModelName?: string | string[];
  limits?: Partial<GatewayLimits>;
  /** Redis hash where pipelines announce themselves (default `ivl:pipelines`). */
  pipelinesKey?: string;
  /** Run the batch processor in this gateway (default true; any number of gateways may run one). */
  batchProcessor?: boolean | Partial<typeof DEFAULT_BATCH_OPTIONS>;
  /** Priority of batch jobs in BullMQ (higher = later); interactive jobs have none and always go first. */
  batchPriority?: number;
  logger?: GatewayLogger | 'silent';
  /** Test hook: replaces the public-address check for media URLs. */
  addressPolicy?: AddressPolicy;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
const bool = (v: string | undefined) => (v === undefined || v === '' ? undefined : /^(1|true|yes|on)$/i.test(v));

/**
 * Limits and keys from the environment (IVL_*), for `ivl gateway` / `ivl up` and containers. Unset variables keep
 * the defaults; see the table in libs/gateway/README.md.
 */
export function gatewayEnv(env: NodeJS.ProcessEnv = process.env): Pick<GatewayOptions, 'apiKeys' | 'limits' | 'servedModelName'> {
  const limits: Partial<GatewayLimits> = {};
  const set = <K extends keyof GatewayLimits>(k: K, v: GatewayLimits[K] | undefined) => {
    if (v !== undefined && !(typeof v === 'number' && !Number.isFinite(v))) limits[k] = v;
    else if (typeof v === 'number') throw new Error(`invalid number in the environment for ${k}`);
  };
  set('maxBodyBytes', num(env.IVL_MAX_BODY_BYTES));
  set('maxImagesPerRequest', num(env.IVL_MAX_IMAGES));
  set('maxImageBytes', num(env.IVL_MAX_IMAGE_BYTES));
  set('maxImagePixels', num(env.IVL_MAX_IMAGE_PIXELS));
  set('maxTilesPerRequest', num(env.IVL_MAX_TILES));
  set('maxDynamicPatch', num(env.IVL_MAX_DYNAMIC_PATCH));
  set('maxVideoBytes', num(env.IVL_MAX_VIDEO_BYTES));
  set('maxVideoFrames', num(env.IVL_MAX_VIDEO_FRAMES));
  set('maxContextTokens', num(env.IVL_MAX_MODEL_LEN));
  set('maxPromptTokens', num(env.IVL_MAX_PROMPT_TOKENS));
  set('maxTokens', num(env.IVL_MAX_TOKENS));
  set('urlTimeoutMs', num(env.IVL_URL_TIMEOUT_MS));
  set('maxChoices', num(env.IVL_MAX_N));
  set('allowPrivateUrls', bool(env.IVL_ALLOW_PRIVATE_URLS));
  set('maxQueued', num(env.IVL_MAX_QUEUED));
  set('rateLimitPerMinute', num(env.IVL_RATE_LIMIT_RPM));
  set('requireReadyPipeline', bool(env.IVL_REQUIRE_READY_PIPELINE));
  set('requestTimeoutMs', num(env.IVL_REQUEST_TIMEOUT_MS));
  set('pipelineGraceMs', num(env.IVL_PIPELINE_GRACE_MS));
  set('streamResumeMs', num(env.IVL_STREAM_RESUME_MS));
  set('maxFileBytes', num(env.IVL_MAX_FILE_BYTES));
  set('maxBatchLines', num(env.IVL_MAX_BATCH_LINES));
  set('tokenizerThreads', num(env.IVL_TOKENIZER_THREADS));
  set('tokenizerMaxQueued', num(env.IVL_TOKENIZER_QUEUE));
  set('tokenizeTimeoutMs', num(env.IVL_TOKENIZE_TIMEOUT_MS));
  const apiKeys = (env.IVL_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const names = (env.IVL_SERVED_MODEL_NAME ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return { apiKeys, limits, servedModelName: names.length ? names : undefined };
}
