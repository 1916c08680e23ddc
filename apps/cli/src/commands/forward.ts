import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { addMediaFlags, mediaInput } from '../media-flags';
import { addModelFlags, openGenerator } from '../model-flags';
import { addSamplingFlags, samplingFrom } from '../sampling-flags';

export function forwardCommand(): Command {
  const cmd = new Command('forward').description('run one prompt through the model in this process and report ids, logits and the continuation');
  addModelFlags(cmd);
  addMediaFlags(cmd);
  addSamplingFlags(cmd, { maxNewTokens: 16, temperature: 0 });
  return cmd
    .requiredOption('--prompt <text>', 'the question')
    .option('--system <text>', 'system message (default: the InternVL2.5 one)')
    .option('--json <file>', 'write the full report as JSON here')
    .action(async (o) => {
      const generator = await openGenerator(o);
      const r = await generator.chat({ system: o.system, question: o.prompt, ...mediaInput(o) }, samplingFrom(o));
      const report = {
        prompt: r.prepared.prompt,
        input_ids: r.prepared.ids,
        num_patches: r.prepared.numPatchesList,
        logits: Array.from(r.firstLogits),
        tokens: r.tokens,
        text: r.text,
        finish_reason: r.finishReason,
        grounding: r.prepared.imageSizes[0] ? r.decoder.grounding(r.prepared.imageSizes[0].width, r.prepared.imageSizes[0].height) : [],
        seed: r.seed,
        plan: generator.plan.name,
        dtype: generator.manifest.dtype,
      };
      if (o.json) writeFileSync(o.json, JSON.stringify(report));
      const imageTokens = r.prepared.numTiles * generator.config.numImageToken;
      console.log(`prompt: ${r.prepared.ids.length} tokens (${r.prepared.numPatchesList.length} image(s), tiles ${JSON.stringify(r.prepared.numPatchesList)}, ${imageTokens} image tokens)`);
      console.log(`tokens: ${JSON.stringify(r.tokens)}`);
      console.log(`text: ${JSON.stringify(r.text)} (${r.finishReason})`);
    });
}
