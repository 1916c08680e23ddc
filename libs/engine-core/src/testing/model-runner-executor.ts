import { allocAct, mergeImageEmbeddings, type ModelRunner } from '@ivl/runtime';
import type { BatchExecutor, MicroBatch } from '../micro-batch';

/**
 * Runs the scheduler's micro-batches through a whole model in this process (every layer range of the plan, each
 * with its own slot KV cache, as the stages of a ring hold them): embeddings, image rows, the ranges in ring
 * order, then the head for the logit rows. Keeps each sequence's logit rows, in order, for comparisons.
 */
export class ModelRunnerExecutor implements BatchExecutor {
  readonly logits = new Map<string, Float32Array[]>();
  readonly batches: MicroBatch[] = [];

  constructor(private readonly runner: ModelRunner) {}

  async run(b: MicroBatch): Promise<Float32Array> {
    this.batches.push(b);
    const H = this.runner.hidden;
    const embeds = await this.runner.embed(b.ids);
    if (b.imageRows?.length) mergeImageEmbeddings(embeds, b.ids, b.imageRows, this.runner.manifest.config.imageContextTokenId, H);
    const h = await this.runner.layers(embeds, b.spans);
    const rows = allocAct(h instanceof Float32Array ? 'float32' : 'float16', b.logitRows.length * H);
    b.logitRows.forEach((row, i) => rows.set(h.subarray(row * H, (row + 1) * H) as never, i * H));
    const out = await this.runner.logits(rows, b.logitRows.length);
    const V = out.length / Math.max(1, b.logitRows.length);
    let k = 0;
    b.seqs.forEach((s, i) => {
      const sp = b.spans[i];
      if (b.prefill[i] && sp.start + sp.length !== s.ids.length) return;
      const list = this.logits.get(s.id) ?? [];
      list.push(out.slice(k * V, (k + 1) * V));
      this.logits.set(s.id, list);
      k++;
    });
    return out;
  }
}
