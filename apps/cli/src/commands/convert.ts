import { Command } from 'commander';
import { Checkpoint } from '@ivl/checkpoint';
import { convertCheckpoint, WEIGHT_FORMATS, WeightFormat } from '@ivl/compiler';
import { byteProgress } from '../progress';

export function convertCommand(): Command {
  return new Command('convert')
    .description('convert a published checkpoint into a model bundle (other commands do this automatically and cache it)')
    .requiredOption('--model <dir>', 'published checkpoint directory')
    .requiredOption('--out <dir>', 'bundle directory to write')
    .option('--dtype <t>', `weight format: ${WEIGHT_FORMATS.join(', ')}`, 'fp32')
    .option('--block-size <n>', 'quantisation block along the input dimension (default 128 for int4, 32 for int8)', Number)
    .option('--force', 'replace an existing bundle')
    .action((o) => {
      const ckpt = Checkpoint.open(o.model);
      const bar = byteProgress(`convert ${o.dtype}`);
      const m = convertCheckpoint(ckpt, { dtype: o.dtype as WeightFormat, out: o.out, blockSize: o.blockSize, force: o.force, onProgress: bar.update });
      bar.stop();
      const bytes = Object.values(m.tensors).reduce((a, t) => a + t.length, 0);
      console.log(`wrote ${o.out}: ${m.dtype} bundle, ${(bytes / 1e6).toFixed(1)} MB of weights, ${Object.keys(m.tensors).length} tensors`);
    });
}
