import type { ActArray, SeqChunk } from '@ivl/runtime';
import type { Sequence } from './sequence';

/** One trip round the ring: a prefill chunk of one sequence, or one decode step of several. */
export interface MicroBatch {
  id: string;
  kind: 'prefill' | 'decode';
  seqs: Sequence[];
  spans: SeqChunk[];
  ids: number[];
  imageRows?: ActArray;
  /** Rows whose logits are needed (last row of a finished prefill; every row of a decode step). */
  logitRows: number[];
}

/** Runs a micro-batch through every stage and returns the logits of its logit rows. */
export interface BatchExecutor {
  run(batch: MicroBatch): Promise<Float32Array>;
}
