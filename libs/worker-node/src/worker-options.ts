import type { WeightFormat } from '@ivl/compiler';

export interface WorkerOptions {
  /** Published checkpoint directory (converted and cached automatically) or a bundle. */
  model: string;
  dtype: WeightFormat;
  plan: string;
  stage: number;
  /** Addresses of every stage of this pipeline, in stage order (host:port). */
  peers: string[];
  /** Bind address; defaults to 127.0.0.1 with the port of peers[stage]. */
  listen?: string;
  device: string;
  threads?: number;
  /** KV cache budget of this stage in MiB. */
  kvBudgetMb: number;
  /** KV cache element type: 'fp16' halves it for fp32-activation bundles (default: the activations' type). */
  kvDtype?: 'fp32' | 'fp16';
  cacheDir?: string;
  /** Stage 0: the Redis that holds the queue. */
  redis?: string;
  queuePrefix?: string;
  pipelineId: string;
  /** Stage 0: sequences generated at once (BullMQ concurrency). */
  maxSequences: number;
  /** Stage 0: memory for image embeddings per tile, reused when the same image comes again (0 = off). */
  visionCacheMb: number;
  /**
   * Stage 0: keep finished sequences' KV on every stage and start matching prompts from it (the prefix cache;
   * docs/engine-core.md). Cached prefixes count in admission and are evicted least recently used first.
   */
  prefixCache: boolean;
  /**
   * Stage 0: worker threads that decode and tile images and videos, off the event loop; also the bound on images
   * decoded at once (each holds its decoded RGB, 150 MB at 50 MP, until tiled).
   */
  mediaThreads: number;
  /**
   * Stage 0: the vision encoder's layers as this many graphs, each a call of its own on the stage thread, so the
   * ring's steps run between the parts of a tile (a 4b tile is ≈2.4 s of vision on 2 CPU cores). Unset: 1 on CUDA,
   * 6 on CPU.
   */
  visionParts?: number;
  /** Stage 0: most sequences in one decode micro-batch. */
  maxBatch: number;
  /**
   * Stage 0: the step's token budget for prefill, i.e. prompt positions one micro-batch carries next to its decode
   * rows. Unset: 512 on CUDA, 32 on CPU (chosen with `npm run bench:latency`: on the `4b` model, against 64, a
   * 3,400-token prompt's first token comes 14% later while the running answers' largest gap halves; 16 costs the
   * prompt another 40% for little shorter gaps).
   */
  prefillChunk?: number;
  /**
   * Run each prefill chunk as a pass of its own instead of in the step's one pass with the decode rows: the layout
   * before steps were fused, kept as the baseline `npm run bench:latency` measures against (no CLI flag).
   */
  separatePrefillPass?: boolean;
  /** Stage 0: micro-batches in flight round the ring; defaults to the number of stages. */
  maxInFlight?: number;
  /** Stage 0: an in-flight micro-batch that has not come back after this long fails its sequences. */
  batchTimeoutMs: number;
  /** Idle sequences' KV is freed after this long (a driver that died without releasing them). */
  kvIdleMs: number;
  /** SIGTERM: how long in-flight work may take to finish before it is handed back to the queue. */
  drainMs: number;
  /** Port of the Prometheus /metrics endpoint (-1 = none). */
  metricsPort?: number;
  /** Trace every Nth decode micro-batch of the ring (prefill chunks are always traced when tracing is on). */
  traceDecodeEvery: number;
  log: (msg: string) => void;
}

/** The prefill token budget per step for a device (see WorkerOptions.prefillChunk). */
export function defaultPrefillChunk(device: string): number {
  return device.startsWith('cuda') ? 512 : 32;
}

/** How many calls one tile's vision pass is split into for a device (see WorkerOptions.visionParts). */
export function defaultVisionParts(device: string): number {
  return device.startsWith('cuda') ? 1 : 6;
}

export const WORKER_DEFAULTS = {
  dtype: 'fp32' as WeightFormat,
  plan: 'card:1',
  device: 'cpu',
  kvBudgetMb: 2048,
  maxSequences: 32,
  visionCacheMb: 256,
  prefixCache: true,
  mediaThreads: 1,
  maxBatch: 32,
  batchTimeoutMs: 120_000,
  kvIdleMs: 300_000,
  drainMs: 30_000,
  metricsPort: 9400,
  traceDecodeEvery: 16,
};

/** Parses an on/off switch (`--prefix-cache on|off`). */
export function onOff(v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new RangeError(`expected on or off, got "${v}"`);
}

export function listenAddress(o: Pick<WorkerOptions, 'listen' | 'peers' | 'stage'>): string {
  // Loopback unless told otherwise: a stage on another host (the Helm chart) passes --listen 0.0.0.0:<port>.
  return o.listen ?? `127.0.0.1:${o.peers[o.stage].split(':').pop()}`;
}

/** The host part of the stage's bind address (its metrics server listens there too). */
export function listenHost(o: Pick<WorkerOptions, 'listen' | 'peers' | 'stage'>): string {
  const a = listenAddress(o);
  return a.slice(0, a.lastIndexOf(':')).replace(/^\[|\]$/g, '') || '127.0.0.1';
}

