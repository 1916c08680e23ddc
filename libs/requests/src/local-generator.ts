import { randomInt } from 'node:crypto';
import { ModelConfig } from '@ivl/checkpoint';
import { BundleManifest, WeightFormat, ensureBundle } from '@ivl/compiler';
import { GenerateOutput, SamplingParams, SequenceDecoder, generate, validateSampling } from '@ivl/generation';
import { parsePlan, Plan } from '@ivl/plan';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { ModelRunner } from '@ivl/runtime';
import { RequestInput, RequestLimits, requestLimitsFromEnv } from './request-input';
import { PreparedInput, prepareInput } from './prepare-input';
import { planCosts } from './plan-costs';

export interface LocalGeneratorOptions {
  dtype: WeightFormat;
  plan?: string;
  threads?: number;
  cacheDir?: string;
  blockSize?: number;
  limits?: RequestLimits;
  onConvertProgress?: (done: number, total: number) => void;
}

export interface ChatResult extends GenerateOutput {
  prepared: PreparedInput;
  seed: number;
}

/** The whole model in this process: what `ivl forward` and `ivl chat` run, and the baseline pipelines must equal. */
export class LocalGenerator {
  private constructor(
    readonly tokenizer: IvlTokenizer,
    readonly runner: ModelRunner,
    readonly manifest: BundleManifest,
    readonly plan: Plan,
    private readonly limits?: RequestLimits,
  ) {}

  static async open(modelDir: string, opts: LocalGeneratorOptions): Promise<LocalGenerator> {
    const { dir, manifest } = ensureBundle(modelDir, { dtype: opts.dtype, cacheDir: opts.cacheDir, blockSize: opts.blockSize, onProgress: opts.onConvertProgress });
    const plan = parsePlan(opts.plan ?? 'card:1', manifest.config.llm.numLayers, planCosts(manifest.config));
    const tokenizer = await loadTokenizer(manifest.source.dir);
    const runner = await ModelRunner.create(dir, manifest, plan, { threads: opts.threads });
    return new LocalGenerator(tokenizer, runner, manifest, plan, opts.limits ?? requestLimitsFromEnv());
  }

  get config(): ModelConfig {
    return this.manifest.config;
  }

  prepare(input: RequestInput): Promise<PreparedInput> {
    return prepareInput(this.tokenizer, this.config, input, this.limits);
  }

  async chat(input: RequestInput, params: SamplingParams, onDelta?: (delta: string, token: number) => void): Promise<ChatResult> {
    validateSampling(params, this.config.llm.maxPositionEmbeddings);
    const prepared = await this.prepare(input);
    const imageEmbeds = prepared.numTiles ? await this.runner.vision(prepared.pixelValues, prepared.numTiles) : undefined;
    const seed = params.seed ?? randomInt(2 ** 31);
    const out = await generate(this.runner, this.tokenizer, {
      ids: prepared.ids,
      imageEmbeds,
      params,
      seed,
      eosTokenIds: this.manifest.generation.eosTokenIds,
      prefillChunk: 1024,
      onDelta,
    });
    return { ...out, prepared, seed };
  }

  /**
   * The card's batch_chat(): independent prompts answered together. Each prompt is prefilled on its own, then
   * the decode steps of all unfinished answers run as one batched pass. onnxruntime's GroupQueryAttention takes
   * each row's own length (right-padded KV, positions from the row's length), so no left padding and no pad
   * tokens are needed, and every answer equals the same prompt run alone.
   */
  async batchChat(inputs: RequestInput[], params: SamplingParams): Promise<Array<{ text: string; tokens: number[]; finishReason: string }>> {
    validateSampling(params, this.config.llm.maxPositionEmbeddings);
    const seqs = [];
    for (const [i, input] of inputs.entries()) {
      const prepared = await this.prepare(input);
      const image = prepared.numTiles ? await this.runner.vision(prepared.pixelValues, prepared.numTiles) : undefined;
      const id = `batch-${process.pid}-${i}`;
      const decoder = new SequenceDecoder(this.tokenizer, prepared.ids, {
        params,
        eosTokenIds: this.manifest.generation.eosTokenIds,
        seed: (params.seed ?? randomInt(2 ** 31)) + i,
        maxTokens: this.config.llm.maxPositionEmbeddings - prepared.ids.length,
      });
      const logits = await this.runner.prefill({ seq: id, ids: prepared.ids, chunkSize: 1024, image: image ? { embeds: image, tokenId: this.config.imageContextTokenId } : undefined });
      decoder.accept(logits);
      seqs.push({ id, decoder, promptLength: prepared.ids.length });
    }
    try {
      for (;;) {
        const live = seqs.filter((s) => !s.decoder.finished);
        if (!live.length) break;
        const V = this.config.llm.vocabSize;
        const logits = await this.runner.decode(
          live.map((s) => ({ seq: s.id, token: s.decoder.tokens[s.decoder.tokens.length - 1], position: s.promptLength + s.decoder.tokens.length - 1 })),
        );
        live.forEach((s, i) => s.decoder.accept(logits.subarray(i * V, (i + 1) * V)));
      }
    } finally {
      for (const s of seqs) this.runner.release(s.id);
    }
    return seqs.map((s) => ({ text: s.decoder.outputText, tokens: s.decoder.tokens, finishReason: s.decoder.finishReason! }));
  }
}
