import type { ActArray, SeqChunk } from '@ivl/runtime';
import type { Sequence } from './sequence';

/**
 * One trip round the ring: a decode row for each of several sequences and prefill chunks of others (a step).
 * `kind` is 'prefill' when any prefill chunk rides along, as the stages classify it.
 */
export interface MicroBatch {
  id: string;
  kind: 'prefill' | 'decode';
  /** One per span, in span order. */
  seqs: Sequence[];
  spans: SeqChunk[];
  /** Per span: a prefill chunk (true) or a decode row. */
  prefill: boolean[];
  ids: number[];
  imageRows?: ActArray;
  /** Rows whose logits are needed, in span order (every decode row; the last row of a finished prompt). */
  logitRows: number[];
}

/** Runs a micro-batch through every stage and returns the logits of its logit rows. */
export interface BatchExecutor {
  run(batch: MicroBatch): Promise<Float32Array>;
}
