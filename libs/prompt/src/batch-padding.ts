import { PromptError } from './errors';
import { PAD_ID } from './special-tokens';

export interface PaddedBatch {
  readonly inputIds: number[][];
  readonly attentionMask: number[][];
  /** Positions as Hugging Face derives them for generation: cumsum(mask) − 1, and 1 on padding. */
  readonly positionIds: number[][];
}

/**
 * batch_chat()'s layout: left padding with `<|endoftext|>`, so every sequence's last prompt token sits in the same
 * column and generation appends to all of them at once. Position ids must follow the mask, not the column, or
 * padded rows get shifted rotary positions and different logits from their unbatched run.
 */
export function leftPadBatch(sequences: readonly (readonly number[])[], padId: number = PAD_ID): PaddedBatch {
  if (sequences.length === 0) throw new PromptError('INVALID_ARGUMENT', 'leftPadBatch needs at least one sequence');
  const width = Math.max(...sequences.map((s) => s.length));
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  const positionIds: number[][] = [];
  for (const seq of sequences) {
    const pad = width - seq.length;
    inputIds.push([...new Array<number>(pad).fill(padId), ...seq]);
    attentionMask.push([...new Array<number>(pad).fill(0), ...new Array<number>(seq.length).fill(1)]);
    positionIds.push([...new Array<number>(pad).fill(1), ...seq.map((_, i) => i)]);
  }
  return { inputIds, attentionMask, positionIds };
}
