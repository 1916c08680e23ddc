/** Wire shapes of protos/ivl/stage/v1/stage.proto as proto-loader presents them (keepCase, enums as strings). */
export interface SeqSpanMsg {
  seq: string;
  start: number;
  length: number;
  /** Prefix cache: the sequence the span's sequence starts from (empty when none). */
  from_seq?: string;
}

export type DTypeName = 'DTYPE_UNSPECIFIED' | 'FLOAT32' | 'FLOAT16';

export interface ActivationBatchMsg {
  batch_id: string;
  spans: SeqSpanMsg[];
  dtype: DTypeName;
  shape: number[];
  data: Buffer;
  chunk_index: number;
  chunk_count: number;
  trace: Record<string, string>;
  error: string;
  forward_ms: Record<number, number>;
  sent_at_ms: number;
}

export interface ForwardEventMsg {
  ack?: { batch_id: string };
  error?: { batch_id: string; message: string; code: string };
  event?: 'ack' | 'error';
}

export interface HealthReplyMsg {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'DRAINING';
  stage: number;
  num_stages: number;
  plan: string;
  dtype: string;
  layers: number[];
  kv_capacity_tokens: number;
  kv_used_tokens: number;
  sequences: number;
  provider: string;
  downstream_connected: boolean;
  model_id: string;
  pipeline: string;
  instance_id: string;
  /** Stage 0: cached prefixes (finished sequences whose KV every stage keeps for reuse). */
  cached_prefixes?: number;
}
