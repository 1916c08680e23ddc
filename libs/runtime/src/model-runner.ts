import { BundleManifest } from '@ivl/compiler';
import { Plan, RingStep, ringOrder } from '@ivl/plan';
import { ActArray } from './activations';
import { EmbedRunner, TailRunner, VisionRunner } from './head-runners';
import { LayerRangeRunner, LayerRangeOptions } from './layer-range-runner';
import type { SeqChunk } from './slot-kv-cache';
import { mergeImageEmbeddings } from './merge-image';

export interface PrefillInput {
  seq: string;
  ids: number[];
  /** Image embeddings from `vision()`, merged at the image-context tokens. */
  image?: { embeds: ActArray; tokenId: number };
  /** Positions to prefill per pass (chunked prefill); default all at once. */
  chunkSize?: number;
}

/**
 * The whole model in one process, run stage by stage in the plan's ring order: the same graphs and the same
 * per-range KV caches a pipeline uses, so its outputs are the reference that pipelines are tested against.
 */
export class ModelRunner {
  private constructor(
    readonly manifest: BundleManifest,
    readonly plan: Plan,
    private readonly visionRunner: VisionRunner,
    private readonly embedRunner: EmbedRunner,
    private readonly ranges: Array<{ step: RingStep; runner: LayerRangeRunner }>,
    private readonly tail: TailRunner,
  ) {}

  static async create(dir: string, m: BundleManifest, plan: Plan, opts: LayerRangeOptions = {}): Promise<ModelRunner> {
    if (plan.numLayers !== m.config.llm.numLayers) throw new Error(`plan ${plan.name} is for ${plan.numLayers} layers, the model has ${m.config.llm.numLayers}`);
    const ranges = [];
    for (const step of ringOrder(plan)) {
      ranges.push({ step, runner: await LayerRangeRunner.create(dir, m, step.range[0], step.range[1], opts) });
    }
    return new ModelRunner(m, plan, await VisionRunner.create(dir, m, opts), await EmbedRunner.create(dir, m, opts), ranges, await TailRunner.create(dir, m, opts));
  }

  get hidden(): number {
    return this.manifest.config.llm.hiddenSize;
  }

  vision(pixelValues: Float32Array, numTiles: number): Promise<ActArray> {
    return this.visionRunner.run(pixelValues, numTiles);
  }

  embed(ids: number[]): Promise<ActArray> {
    return this.embedRunner.run(ids);
  }

  /** onnxruntime runs per range in the last `layers` call, in ring order. */
  get lastPasses(): number[] {
    return this.ranges.map((r) => r.runner.lastPasses);
  }

  /** Runs hidden states through every range of the ring; returns the final residual stream. */
  async layers(hidden: ActArray, chunks: SeqChunk[]): Promise<ActArray> {
    let h = hidden;
    for (const r of this.ranges) h = await r.runner.forward(h, chunks);
    return h;
  }

  logits(rows: ActArray, n: number): Promise<Float32Array> {
    return this.tail.run(rows, n);
  }

  /** Prefills a prompt (optionally in chunks) and returns the logits at its last position. */
  async prefill(input: PrefillInput): Promise<Float32Array> {
    const H = this.hidden;
    const embeds = await this.embed(input.ids);
    if (input.image) mergeImageEmbeddings(embeds, input.ids, input.image.embeds, input.image.tokenId, H);
    const chunk = input.chunkSize ?? input.ids.length;
    let last: ActArray = embeds;
    let n = 0;
    for (let start = 0; start < input.ids.length; start += n) {
      n = Math.min(chunk, input.ids.length - start);
      last = await this.layers(embeds.subarray(start * H, (start + n) * H), [{ seq: input.seq, start, length: n }]);
    }
    return this.logits(last.subarray((n - 1) * H, n * H), 1);
  }

  /** One decode step for several sequences at once: each feeds its last token at its next position. */
  async decode(steps: Array<{ seq: string; token: number; position: number }>): Promise<Float32Array> {
    const embeds = await this.embed(steps.map((s) => s.token));
    const h = await this.layers(embeds, steps.map((s) => ({ seq: s.seq, start: s.position, length: 1 })));
    return this.logits(h, steps.length);
  }

  release(seq: string): void {
    for (const r of this.ranges) r.runner.release(seq);
  }
}
