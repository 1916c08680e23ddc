import { Command } from 'commander';
import { SamplingParams } from '@ivl/generation';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The sampling flags shared by forward, chat and generate. */
export function addSamplingFlags(cmd: Command, defaults: Partial<SamplingParams>): Command {
  return cmd
    .option('--max-new-tokens <k>', 'most tokens to generate', Number, defaults.maxNewTokens ?? 64)
    .option('--temperature <t>', '0 = greedy', Number, defaults.temperature ?? 0)
    .option('--top-k <k>', '0 = off', Number, defaults.topK ?? 0)
    .option('--top-p <p>', 'nucleus mass', Number, defaults.topP ?? 1)
    .option('--repetition-penalty <r>', 'HF repetition penalty', Number, defaults.repetitionPenalty ?? 1)
    .option('--seed <n>', 'random seed (same seed, same output)', Number)
    .option('--stop <text>', 'stop string (repeatable)', collect, []);
}

export function samplingFrom(o: Record<string, unknown>): SamplingParams {
  return {
    maxNewTokens: o.maxNewTokens as number,
    temperature: o.temperature as number,
    topK: o.topK as number,
    topP: o.topP as number,
    repetitionPenalty: o.repetitionPenalty as number,
    seed: o.seed as number | undefined,
    stop: o.stop as string[],
  };
}

export const collectFlag = collect;
