import * as ort from 'onnxruntime-node';
import { BundleManifest, ensureGraph } from '@ivl/compiler';
import { f32ToF16 } from '@ivl/tensor';
import { ActArray, ActType, actTensor } from './activations';
import { SessionOptions, createSession } from './session-factory';

/** InternViT + pixel shuffle + mlp1 on batches of tiles. */
export class VisionRunner {
  lastRunMs = 0;
  private constructor(private readonly session: ort.InferenceSession, private readonly m: BundleManifest, private readonly maxTilesPerRun: number) {}

  static async create(dir: string, m: BundleManifest, opts: SessionOptions & { maxTilesPerRun?: number } = {}): Promise<VisionRunner> {
    const { session } = await createSession(ensureGraph(dir, m, { kind: 'vision' }), opts);
    return new VisionRunner(session, m, opts.maxTilesPerRun ?? 4);
  }

  /** pixel values [T, 3, S, S] (fp32) → image embeddings [T · numImageToken, hidden] in the activation type. */
  async run(pixelValues: Float32Array, numTiles: number): Promise<ActArray> {
    const c = this.m.config;
    const S = c.vision.imageSize;
    const per = 3 * S * S;
    if (pixelValues.length !== numTiles * per) throw new RangeError(`pixel values hold ${pixelValues.length} values, expected ${numTiles} tiles of 3×${S}×${S}`);
    const rowsPerTile = c.numImageToken * c.llm.hiddenSize;
    const act: ActType = this.m.activationType;
    const out = act === 'float32' ? new Float32Array(numTiles * rowsPerTile) : new Uint16Array(numTiles * rowsPerTile);
    const t0 = performance.now();
    // Tiles go through in groups: attention over 1,025 patches costs memory per tile, so a 13-tile image is split.
    for (let t = 0; t < numTiles; t += this.maxTilesPerRun) {
      const n = Math.min(this.maxTilesPerRun, numTiles - t);
      const slice = pixelValues.subarray(t * per, (t + n) * per);
      const input = act === 'float32' ? slice : f32ToF16(slice);
      const res = await this.session.run({ pixel_values: actTensor(act, input, [n, 3, S, S]) });
      out.set(res.image_embeds.data as never, t * rowsPerTile);
    }
    this.lastRunMs = performance.now() - t0;
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Token embedding lookup. */
export class EmbedRunner {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(dir: string, m: BundleManifest, opts: SessionOptions = {}): Promise<EmbedRunner> {
    const { session } = await createSession(ensureGraph(dir, m, { kind: 'embed' }), opts);
    return new EmbedRunner(session);
  }

  async run(ids: ArrayLike<number>): Promise<ActArray> {
    const t = new ort.Tensor('int64', BigInt64Array.from(Array.from(ids, (x) => BigInt(x))), [1, ids.length]);
    const res = await this.session.run({ input_ids: t });
    return res.embeds.data as ActArray;
  }
}

/** Final norm and lm_head for selected rows. */
export class TailRunner {
  lastRunMs = 0;
  private constructor(private readonly session: ort.InferenceSession, private readonly m: BundleManifest) {}

  static async create(dir: string, m: BundleManifest, opts: SessionOptions = {}): Promise<TailRunner> {
    const { session } = await createSession(ensureGraph(dir, m, { kind: 'tail' }), opts);
    return new TailRunner(session, m);
  }

  get vocabSize(): number {
    return this.m.config.llm.vocabSize;
  }

  /** hidden rows [n, H] → logits [n, vocab] (fp32). */
  async run(rows: ActArray, n: number): Promise<Float32Array> {
    const t0 = performance.now();
    const res = await this.session.run({ hidden: actTensor(this.m.activationType, rows, [n, this.m.config.llm.hiddenSize]) });
    this.lastRunMs = performance.now() - t0;
    return res.logits.data as Float32Array;
  }
}
