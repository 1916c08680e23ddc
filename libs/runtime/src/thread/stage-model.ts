import { readManifest } from '@ivl/compiler';
import type { LayerRange } from '@ivl/plan';
import { ActArray, allocAct } from '../activations';
import { EmbedRunner, TailRunner, VisionRunner } from '../head-runners';
import { LayerRangeRunner } from '../layer-range-runner';
import type { SeqChunk } from '../slot-kv-cache';
import { mergeImageEmbeddings } from '../merge-image';
import { SessionOptions } from '../session-factory';

export interface StageModelConfig {
  bundleDir: string;
  /** This stage's layer ranges in ring order; stage 0 may hold a second range run when the hidden state returns. */
  ranges: LayerRange[];
  /** Stage 0: vision, embeddings and the head. */
  head: boolean;
  imageTokenId: number;
  session: SessionOptions;
  kvBudgetBytes: number;
  /** KV cache element type (default: the activations'). */
  kvType?: 'float32' | 'float16';
  /** Stage 0: the vision encoder's layers as this many graphs, each a call of its own (default 1). */
  visionParts?: number;
  /** Each prefill chunk in a pass of its own (the unfused baseline; LayerRangeOptions). */
  separatePrefillPass?: boolean;
}

export interface StageModelInfo {
  provider: 'cpu' | 'cuda';
  actType: 'float32' | 'float16';
  hidden: number;
  vocab: number;
  kvCapacityTokens: number;
  /** Calls one tile's vision pass takes (`runVisionPart` 0 … visionParts − 1); 0 off stage 0. */
  visionParts: number;
}

export interface FrontInput {
  /** Token ids of all rows of the batch, in span order. */
  ids: number[];
  spans: SeqChunk[];
  /** Image embedding rows for the image-context tokens among `ids`, in order. */
  imageRows?: ActArray;
}

export interface StageStats {
  kvUsedTokens: number;
  kvCapacityTokens: number;
  sequences: number;
  forwardMs: number;
}

/**
 * Everything one stage computes, composed from the bundle's graphs. Lives on the onnxruntime thread; the main
 * thread calls it through StageModelClient.
 */
export class StageModel {
  private vision?: VisionRunner;
  private embed?: EmbedRunner;
  private tail?: TailRunner;
  private readonly runners: LayerRangeRunner[] = [];
  private hidden = 0;
  private forwardMs = 0;

  constructor(private readonly cfg: StageModelConfig) {}

  async init(): Promise<StageModelInfo> {
    // Functions cannot cross into a worker thread, so the thread logs the execution-provider choice itself.
    this.cfg.session.log ??= (msg) => console.error(msg);
    const m = readManifest(this.cfg.bundleDir);
    this.hidden = m.config.llm.hiddenSize;
    const ranges = this.cfg.ranges.filter(([a, b]) => b > a);
    const layers = ranges.reduce((n, [a, b]) => n + b - a, 0);
    // The KV budget is shared by the stage's ranges in proportion to their layers.
    for (const [a, b] of ranges) {
      const share = layers ? Math.floor((this.cfg.kvBudgetBytes * (b - a)) / layers) : this.cfg.kvBudgetBytes;
      this.runners.push(await LayerRangeRunner.create(this.cfg.bundleDir, m, a, b, { ...this.cfg.session, kvBudgetBytes: share, kvType: this.cfg.kvType, separatePrefillPass: this.cfg.separatePrefillPass }));
    }
    if (this.cfg.head) {
      this.vision = await VisionRunner.create(this.cfg.bundleDir, m, { ...this.cfg.session, parts: this.cfg.visionParts });
      this.embed = await EmbedRunner.create(this.cfg.bundleDir, m, this.cfg.session);
      this.tail = await TailRunner.create(this.cfg.bundleDir, m, this.cfg.session);
    }
    return {
      provider: this.runners[0]?.provider ?? 'cpu',
      actType: m.activationType,
      hidden: this.hidden,
      vocab: m.config.llm.vocabSize,
      kvCapacityTokens: this.stats().kvCapacityTokens,
      visionParts: this.vision?.partCount ?? 0,
    };
  }

  /** The index of the range run when the hidden state comes back to stage 0 (none when it holds one range). */
  private get backRange(): LayerRangeRunner | undefined {
    return this.cfg.head && this.runners.length === 2 ? this.runners[1] : undefined;
  }

  private get frontRange(): LayerRangeRunner | undefined {
    if (!this.cfg.head) return this.runners[0];
    const first = this.cfg.ranges[0];
    return first && first[1] > first[0] ? this.runners[0] : undefined;
  }

  async runVision(pixels: Float32Array, numTiles: number): Promise<ActArray> {
    return this.need(this.vision, 'vision').run(pixels, numTiles);
  }

  /** One part of the vision encoder for a few tiles (VisionRunner.runPart). */
  async runVisionPart(part: number, input: ActArray, numTiles: number): Promise<ActArray> {
    return this.need(this.vision, 'vision').runPart(part, input, numTiles);
  }

  /** Stage 0 before the ring: embeddings, image rows merged, then the first layer range. */
  async front(input: FrontInput): Promise<ActArray> {
    const embeds = await this.need(this.embed, 'embeddings').run(input.ids);
    if (input.imageRows?.length) mergeImageEmbeddings(embeds, input.ids, input.imageRows, this.cfg.imageTokenId, this.hidden);
    const r = this.frontRange;
    return r ? this.timed(r.forward(embeds, input.spans)) : embeds;
  }

  /** A middle stage: its one layer range. */
  async layers(hidden: ActArray, spans: SeqChunk[]): Promise<ActArray> {
    return this.timed(this.need(this.runners[0], 'layers').forward(hidden, spans));
  }

  /**
   * Stage 0 after the ring: the last layer range, then norm + lm_head for the rows that need logits (the last
   * row of a finished prefill, every row of a decode step).
   */
  async back(hidden: ActArray, spans: SeqChunk[], logitRows: number[]): Promise<Float32Array> {
    const r = this.backRange;
    const h = r ? await this.timed(r.forward(hidden, spans)) : hidden;
    if (!logitRows.length) return new Float32Array(0);
    const H = this.hidden;
    const rows = allocAct(h instanceof Float32Array ? 'float32' : 'float16', logitRows.length * H);
    logitRows.forEach((row, i) => rows.set(h.subarray(row * H, (row + 1) * H) as never, i * H));
    return this.need(this.tail, 'head').run(rows, logitRows.length);
  }

  release(seqs: string[]): number {
    let n = 0;
    for (const s of seqs) for (const r of this.runners) if (r.release(s)) n++;
    return n;
  }

  evictIdle(maxIdleMs: number): string[] {
    const gone = new Set<string>();
    for (const r of this.runners) r.kv.evictIdle(maxIdleMs).forEach((s) => gone.add(s));
    return [...gone];
  }

  stats(): StageStats {
    // Every range holds the same sequences, so the tightest range bounds how many tokens fit.
    const cap = this.runners.length ? Math.min(...this.runners.map((r) => r.kv.capacityTokens)) : Number.MAX_SAFE_INTEGER;
    const used = this.runners.length ? Math.max(...this.runners.map((r) => r.kv.tokensInUse)) : 0;
    const seqs = this.runners.length ? Math.max(...this.runners.map((r) => r.kv.sequenceCount)) : 0;
    return { kvUsedTokens: used, kvCapacityTokens: cap, sequences: seqs, forwardMs: this.forwardMs };
  }

  private async timed<T>(p: Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await p;
    } finally {
      this.forwardMs += performance.now() - t0;
    }
  }

  private need<T>(x: T | undefined, what: string): T {
    if (!x) throw new Error(`this stage does not hold the ${what}`);
    return x;
  }
}
