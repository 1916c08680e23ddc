import { IvlTokenizer } from '@ivl/prompt';
import { ActArray, ModelRunner } from '@ivl/runtime';
import { FinishReason, SequenceDecoder } from './sequence-decoder';
import { SamplingParams } from './sampling-params';
import type { TokenConstraint } from './token-constraint';

export interface GenerateInput {
  ids: number[];
  /** Image embeddings for the prompt's image-context tokens (from `runner.vision`). */
  imageEmbeds?: ActArray;
  params: SamplingParams;
  eosTokenIds: number[];
  seed: number;
  constraint?: TokenConstraint;
  /** Prefill chunk length (positions per pass); bounds activation memory for long image prompts. */
  prefillChunk?: number;
  onDelta?: (delta: string, token: number) => void;
}

export interface GenerateOutput {
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  /** Logits at the last prompt position (what `ivl forward --json` reports). */
  firstLogits: Float32Array;
  decoder: SequenceDecoder;
}

let nextSeq = 0;

/** Generates one answer in this process: prefill, then decode steps until the decoder says it is finished. */
export async function generate(runner: ModelRunner, tokenizer: IvlTokenizer, input: GenerateInput): Promise<GenerateOutput> {
  const maxPos = runner.manifest.config.llm.maxPositionEmbeddings;
  if (input.ids.length >= maxPos) throw new RangeError(`the prompt has ${input.ids.length} tokens; the context holds ${maxPos}`);
  const seq = `local-${process.pid}-${nextSeq++}`;
  const decoder = new SequenceDecoder(tokenizer, input.ids, {
    params: input.params,
    eosTokenIds: input.eosTokenIds,
    seed: input.seed,
    maxTokens: maxPos - input.ids.length,
    constraint: input.constraint,
  });
  try {
    const firstLogits = await runner.prefill({
      seq,
      ids: input.ids,
      chunkSize: input.prefillChunk,
      image: input.imageEmbeds ? { embeds: input.imageEmbeds, tokenId: runner.manifest.config.imageContextTokenId } : undefined,
    });
    let logits = firstLogits;
    for (;;) {
      await decoder.ready();
      const step = decoder.accept(logits);
      if (step.delta || step.finished) input.onDelta?.(step.delta, step.token);
      if (step.finished) break;
      logits = await runner.decode([{ seq, token: step.token, position: input.ids.length + decoder.tokens.length - 1 }]);
    }
    return { tokens: decoder.tokens, text: decoder.outputText, finishReason: decoder.finishReason!, firstLogits, decoder };
  } finally {
    runner.release(seq);
  }
}
