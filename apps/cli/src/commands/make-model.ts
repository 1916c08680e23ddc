import { Command } from 'commander';
import { PRESETS, makeModel } from '@ivl/checkpoint';
import { byteProgress } from '../progress';

export function makeModelCommand(): Command {
  return new Command('make-model')
    .description('write a random-weight checkpoint in the published InternVL2.5 layout')
    .requiredOption('--out <dir>', 'directory to create')
    .option('--preset <name>', `dimensions: ${Object.keys(PRESETS).join(', ')}`, 'tiny')
    .option('--seed <n>', 'random seed', (v) => Number(v), 0)
    .option('--dtype <t>', 'stored weight type: bf16 (as published), fp16, fp32', 'bf16')
    .option('--max-shard-size <bytes>', 'split into shards above this size (default 5e9, as the hub)', Number)
    .option('--set <json>', 'JSON merged into config.json, e.g. \'{"llm_config":{"num_hidden_layers":6}}\'')
    .action((o) => {
      const bar = byteProgress('make-model');
      const res = makeModel({
        preset: o.preset,
        out: o.out,
        seed: o.seed,
        dtype: o.dtype,
        maxShardBytes: o.maxShardSize,
        configOverrides: o.set ? JSON.parse(o.set) : undefined,
        onProgress: bar.update,
      });
      bar.stop();
      console.log(`wrote ${res.dir} (${(res.bytes / 1e6).toFixed(1)} MB of weights, preset ${o.preset})`);
    });
}
