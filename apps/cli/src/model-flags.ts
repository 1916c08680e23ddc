import { Command } from 'commander';
import { WEIGHT_FORMATS } from '@ivl/compiler';
import { LocalGenerator } from '@ivl/requests';
import { PLAN_SYNTAX } from '@ivl/plan';
import { byteProgress } from './progress';

export function addModelFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'published checkpoint directory (or a converted bundle)')
    .option('--dtype <t>', `weight format: ${WEIGHT_FORMATS.join(', ')}`, 'fp32')
    .option('--plan <p>', `partition plan, run in this process: ${PLAN_SYNTAX}`, 'card:1')
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', Number);
}

export async function openGenerator(o: Record<string, unknown>): Promise<LocalGenerator> {
  const bar = byteProgress('converting checkpoint (once; cached)');
  const generator = await LocalGenerator.open(o.model as string, {
    dtype: o.dtype as never,
    plan: o.plan as string,
    threads: o.threads as number | undefined,
    onConvertProgress: bar.update,
  });
  bar.stop();
  return generator;
}
