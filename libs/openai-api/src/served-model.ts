import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ModelConfig, parseModelConfig } from '@ivl/checkpoint';
import { type IvlTokenizer, loadTokenizer } from '@ivl/prompt';

/** What the gateway needs of the model to count a request exactly as the worker will build it. */
export interface ServedModel {
  /** Names a request may use in `model`; the first is the one reported. */
  names: string[];
  dir: string;
  /** Seconds since the epoch (OpenAI's `created` of the model object). */
  created: number;
  tokenizer: IvlTokenizer;
  config: ModelConfig;
  /** Prompt + completion tokens one sequence may hold. */
  contextLength: number;
}

/**
 * Reads config.json and the tokenizer only (not the weights): the gateway never runs the model. The default name
 * is the directory's basename, e.g. `InternVL2_5-4B`; vLLM users pass `--served-model-name` to match theirs.
 */
export async function loadServedModel(dir: string, names?: string[], maxContextTokens?: number): Promise<ServedModel> {
  const abs = resolve(dir);
  const raw = JSON.parse(await readFile(join(abs, 'config.json'), 'utf8')) as unknown;
  const config = parseModelConfig(raw);
  const tokenizer = await loadTokenizer(abs);
  const modelMax = config.llm.maxPositionEmbeddings;
  return {
    names: names?.length ? names : [basename(abs)],
    dir: abs,
    created: Math.floor(Date.now() / 1000),
    tokenizer,
    config,
    contextLength: maxContextTokens ? Math.min(maxContextTokens, modelMax) : modelMax,
  };
}
