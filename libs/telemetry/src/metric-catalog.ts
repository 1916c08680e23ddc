/**
 * Every metric the cluster exports: vLLM's serving metrics under our own `ivl:` prefix (same names, units and
 * labels as vLLM's `vllm:` ones, so dashboards and alerts carry over), the OpenTelemetry GenAI server histograms
 * (with their specified bucket boundaries), and the pipeline's own. The Grafana dashboard and the tests are built
 * from this list, so a metric cannot be charted without being exported.
 */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  name: string;
  kind: MetricKind;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
  /** Who exports it: the gateway (request level, sees every request end to end) or each worker (its stage). */
  exporter: 'gateway' | 'worker';
}

// vLLM's bucket choices for request latencies (seconds) and token counts.
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
// OpenTelemetry GenAI semantic conventions (gen-ai-metrics.md): explicit bucket boundaries as specified.
const GENAI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const GENAI_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const GENAI_TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
const STAGE_MS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BYTES_BUCKETS = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

const M = 'model_name';
const GENAI = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;

export const METRICS = {
  // --- request level (gateway) ---
  timeToFirstToken: { name: 'ivl:time_to_first_token_seconds', kind: 'histogram', help: 'Histogram of time to first token in seconds.', labels: [M], buckets: TTFT_BUCKETS, exporter: 'gateway' },
  interTokenLatency: { name: 'ivl:inter_token_latency_seconds', kind: 'histogram', help: 'Histogram of inter-token latency in seconds.', labels: [M], buckets: ITL_BUCKETS, exporter: 'gateway' },
  e2eLatency: { name: 'ivl:e2e_request_latency_seconds', kind: 'histogram', help: 'Histogram of end to end request latency in seconds.', labels: [M], buckets: LATENCY_BUCKETS, exporter: 'gateway' },
  queueTime: { name: 'ivl:request_queue_time_seconds', kind: 'histogram', help: 'Histogram of time spent waiting in the queue in seconds.', labels: [M], buckets: LATENCY_BUCKETS, exporter: 'gateway' },
  prefillTime: { name: 'ivl:request_prefill_time_seconds', kind: 'histogram', help: 'Histogram of time spent in prefill (vision and prompt) in seconds.', labels: [M], buckets: LATENCY_BUCKETS, exporter: 'gateway' },
  decodeTime: { name: 'ivl:request_decode_time_seconds', kind: 'histogram', help: 'Histogram of time spent in decode in seconds.', labels: [M], buckets: LATENCY_BUCKETS, exporter: 'gateway' },
  running: { name: 'ivl:num_requests_running', kind: 'gauge', help: 'Number of requests being generated.', labels: [M], exporter: 'gateway' },
  waiting: { name: 'ivl:num_requests_waiting', kind: 'gauge', help: 'Number of requests waiting in the queue.', labels: [M], exporter: 'gateway' },
  promptTokens: { name: 'ivl:prompt_tokens_total', kind: 'counter', help: 'Number of prefill tokens processed.', labels: [M], exporter: 'gateway' },
  generationTokens: { name: 'ivl:generation_tokens_total', kind: 'counter', help: 'Number of generation tokens processed.', labels: [M], exporter: 'gateway' },
  requestPromptTokens: { name: 'ivl:request_prompt_tokens', kind: 'histogram', help: 'Number of prefill tokens per request.', labels: [M], buckets: TOKEN_BUCKETS, exporter: 'gateway' },
  requestGenerationTokens: { name: 'ivl:request_generation_tokens', kind: 'histogram', help: 'Number of generation tokens per request.', labels: [M], buckets: TOKEN_BUCKETS, exporter: 'gateway' },
  requestMaxGenerationTokens: { name: 'ivl:request_max_num_generation_tokens', kind: 'histogram', help: 'Requested max_tokens per request.', labels: [M], buckets: TOKEN_BUCKETS, exporter: 'gateway' },
  requestSuccess: { name: 'ivl:request_success_total', kind: 'counter', help: 'Count of successfully processed requests.', labels: [M, 'finished_reason'], exporter: 'gateway' },
  queueJobs: { name: 'ivl:queue_jobs', kind: 'gauge', help: 'Jobs in the generate queue by state.', labels: ['state'], exporter: 'gateway' },
  jobRetries: { name: 'ivl:job_retries_total', kind: 'counter', help: 'Jobs that needed more than one attempt (a stage failed under them).', labels: [M], exporter: 'gateway' },
  genAiTtft: { name: 'gen_ai_server_time_to_first_token_seconds', kind: 'histogram', help: 'gen_ai.server.time_to_first_token: time to generate the first token.', labels: GENAI, buckets: GENAI_TTFT_BUCKETS, exporter: 'gateway' },
  genAiTpot: { name: 'gen_ai_server_time_per_output_token_seconds', kind: 'histogram', help: 'gen_ai.server.time_per_output_token: time per output token after the first.', labels: GENAI, buckets: GENAI_TPOT_BUCKETS, exporter: 'gateway' },
  genAiDuration: { name: 'gen_ai_server_request_duration_seconds', kind: 'histogram', help: 'gen_ai.server.request.duration: duration of a GenAI server request.', labels: [...GENAI, 'error_type'], buckets: GENAI_DURATION_BUCKETS, exporter: 'gateway' },

  // --- pipeline (every worker exports its own stage) ---
  stageForward: { name: 'ivl:stage_forward_seconds', kind: 'histogram', help: 'Forward pass time of this stage per micro-batch.', labels: ['stage', 'kind'], buckets: STAGE_MS_BUCKETS, exporter: 'worker' },
  hopLatency: { name: 'ivl:hop_latency_seconds', kind: 'histogram', help: 'Ring round trip of a micro-batch minus the stages\' compute (transfer and queueing), seen by stage 0.', labels: ['kind'], buckets: STAGE_MS_BUCKETS, exporter: 'worker' },
  hopBytes: { name: 'ivl:hop_bytes_total', kind: 'counter', help: 'Activation bytes sent to the next stage.', labels: ['stage'], exporter: 'worker' },
  hopMessageBytes: { name: 'ivl:hop_message_bytes', kind: 'histogram', help: 'Size of activation batches sent to the next stage.', labels: ['stage'], buckets: BYTES_BUCKETS, exporter: 'worker' },
  microBatchesInFlight: { name: 'ivl:microbatches_in_flight', kind: 'gauge', help: 'Micro-batches travelling round the ring (stage 0).', labels: [], exporter: 'worker' },
  sequencesRunning: { name: 'ivl:stage_sequences_running', kind: 'gauge', help: 'Sequences in the driver\'s continuous batch (stage 0).', labels: [], exporter: 'worker' },
  admissionWaiting: { name: 'ivl:stage_admission_waiting', kind: 'gauge', help: 'Sequences waiting for KV room before they start (stage 0).', labels: [], exporter: 'worker' },
  kvUsage: { name: 'ivl:kv_cache_usage_perc', kind: 'gauge', help: 'KV cache usage of this stage (1 = full).', labels: ['stage'], exporter: 'worker' },
  kvTokens: { name: 'ivl:kv_cache_tokens', kind: 'gauge', help: 'KV cache tokens of this stage by state (used, capacity).', labels: ['stage', 'state'], exporter: 'worker' },
  prefixCacheQueries: { name: 'ivl:prefix_cache_queries_total', kind: 'counter', help: 'Prefix cache queries, in terms of number of queried prompt tokens (stage 0).', labels: [], exporter: 'worker' },
  prefixCacheHits: { name: 'ivl:prefix_cache_hits_total', kind: 'counter', help: 'Prefix cache hits, in terms of number of cached prompt tokens whose KV was reused (stage 0).', labels: [], exporter: 'worker' },
  retries: { name: 'ivl:sequence_retries_total', kind: 'counter', help: 'Sequences failed by a broken ring and handed back to the queue for retry (stage 0).', labels: [], exporter: 'worker' },
  workerRestarts: { name: 'ivl:worker_restarts_total', kind: 'counter', help: 'Times this stage\'s worker started after the first.', labels: ['stage'], exporter: 'worker' },
  ringWhole: { name: 'ivl:ring_whole', kind: 'gauge', help: '1 when every stage of the pipeline is serving and connected (stage 0).', labels: [], exporter: 'worker' },
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;
