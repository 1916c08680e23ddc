import * as ort from 'onnxruntime-node';
import { BundleManifest, ensureGraph } from '@ivl/compiler';
import { f32ToF16 } from '@ivl/tensor';
import { ActArray, ActType, actTensor, allocAct } from './activations';
import { SessionOptions, createSession } from './session-factory';

/** InternViT + pixel shuffle + mlp1 on batches of tiles. */
export class VisionRunner {
  lastRunMs = 0;
  private constructor(
    private readonly parts: ort.InferenceSession[],
    private readonly m: BundleManifest,
    private readonly maxTilesPerRun: number,
  ) {}

  /**
   * `parts`: the encoder's layers split into this many graphs run one after another (default 1, the whole encoder
   * in one). More parts make each call on the stage thread shorter, not the encoder cheaper.
   */
  static async create(dir: string, m: BundleManifest, opts: SessionOptions & { maxTilesPerRun?: number; parts?: number } = {}): Promise<VisionRunner> {
    const L = m.config.vision.numLayers;
    const n = Math.max(1, Math.min(L, Math.floor(opts.parts ?? 1)));
    const sessions: ort.InferenceSession[] = [];
    for (let i = 0; i < n; i++) {
      const [from, to] = [Math.round((i * L) / n), Math.round(((i + 1) * L) / n)];
      const spec = n === 1 ? { kind: 'vision' as const } : { kind: 'vision' as const, from, to };
      sessions.push((await createSession(ensureGraph(dir, m, spec), opts)).session);
    }
    return new VisionRunner(sessions, m, opts.maxTilesPerRun ?? 4);
  }

  /** How many graphs the encoder runs as (`runPart` indices 0 … partCount − 1). */
  get partCount(): number {
    return this.parts.length;
  }

  /** pixel values [T, 3, S, S] (fp32) → image embeddings [T · numImageToken, hidden] in the activation type. */
  async run(pixelValues: Float32Array, numTiles: number): Promise<ActArray> {
    const c = this.m.config;
    const per = 3 * c.vision.imageSize ** 2;
    this.checkPixels(pixelValues, numTiles);
    const rowsPerTile = c.numImageToken * c.llm.hiddenSize;
    const out = allocAct(this.m.activationType, numTiles * rowsPerTile);
    const t0 = performance.now();
    // Tiles go through in groups: attention over 1,025 patches costs memory per tile, so a 13-tile image is split.
    for (let t = 0; t < numTiles; t += this.maxTilesPerRun) {
      const n = Math.min(this.maxTilesPerRun, numTiles - t);
      let x: ActArray = pixelValues.subarray(t * per, (t + n) * per);
      for (let p = 0; p < this.parts.length; p++) x = await this.runOne(p, x, n);
      out.set(x as never, t * rowsPerTile);
    }
    this.lastRunMs = performance.now() - t0;
    return out;
  }

  /**
   * One part for `numTiles` tiles: part 0 takes pixel values (fp32), a later part the previous part's output; the
   * last part returns the image embeddings, the others the encoder's residual stream.
   */
  async runPart(part: number, input: ActArray, numTiles: number): Promise<ActArray> {
    if (!(part >= 0 && part < this.parts.length)) throw new RangeError(`vision part ${part} of ${this.parts.length}`);
    if (part === 0) this.checkPixels(input as Float32Array, numTiles);
    else {
      const v = this.m.config.vision;
      const want = numTiles * (this.m.config.gridSize ** 2 + 1) * v.hiddenSize;
      if (input.length !== want) throw new RangeError(`vision part ${part} got ${input.length} values, expected ${want} for ${numTiles} tiles`);
    }
    const t0 = performance.now();
    const y = await this.runOne(part, input, numTiles);
    this.lastRunMs = performance.now() - t0;
    return y;
  }

  private checkPixels(pixelValues: ArrayLike<number>, numTiles: number): void {
    const S = this.m.config.vision.imageSize;
    if (!(pixelValues instanceof Float32Array)) throw new TypeError('pixel values must be a Float32Array');
    if (pixelValues.length !== numTiles * 3 * S * S) throw new RangeError(`pixel values hold ${pixelValues.length} values, expected ${numTiles} tiles of 3×${S}×${S}`);
  }

  private async runOne(part: number, x: ActArray, n: number): Promise<ActArray> {
    const c = this.m.config;
    const act: ActType = this.m.activationType;
    const S = c.vision.imageSize;
    const last = part === this.parts.length - 1;
    const feeds: Record<string, ort.Tensor> =
      part === 0
        ? { pixel_values: actTensor(act, act === 'float32' ? x : f32ToF16(x as Float32Array), [n, 3, S, S]) }
        : { vision_hidden: actTensor(act, x, [n, c.gridSize ** 2 + 1, c.vision.hiddenSize]) };
    const res = await this.parts[part].run(feeds);
    return (last ? res.image_embeds.data : res.vision_hidden_out.data) as ActArray;
  }

  async close(): Promise<void> {
    for (const s of this.parts) await s.release();
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
