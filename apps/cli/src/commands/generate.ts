import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { GenerateClient } from '@ivl/queue';
import { addSamplingFlags, collectFlag, samplingFrom } from '../sampling-flags';

export function generateCommand(): Command {
  const cmd = new Command('generate').description('send one job to the cluster\'s queue (no gateway needed) and stream the answer');
  addSamplingFlags(cmd, { maxNewTokens: 64, temperature: 0 });
  return cmd
    .requiredOption('--redis <url>', 'the Redis holding the queue')
    .requiredOption('--prompt <text>', 'the question')
    .option('--system <text>', 'system message')
    .option('--image <file>', 'an image (repeatable)', collectFlag, [])
    .option('--max-num <n>', 'max_dynamic_patch', Number)
    .option('--combine-images', 'one <image> for all tiles')
    .option('--video <file>', 'a video')
    .option('--segments <n>', 'frames sampled from the video', Number, 8)
    .option('--queue-prefix <p>', 'BullMQ key prefix of the cluster')
    .option('--json <file>', 'write input_ids, tokens, text and finish_reason as JSON here')
    .option('--timeout <s>', 'give up after this many seconds', Number, 600)
    .action(async (o) => {
      const client = new GenerateClient(o.redis, { prefix: o.queuePrefix });
      try {
        if (!(await client.ping())) throw Object.assign(new Error(`no Redis at ${o.redis}`), { name: 'RangeError' });
        const jobId = await client.submit({
          input: {
            system: o.system,
            question: o.prompt,
            images: (o.image as string[]).map((f) => ({ data: new Uint8Array(readFileSync(f)) })),
            video: o.video ? { data: new Uint8Array(readFileSync(o.video)), numSegments: o.segments } : undefined,
            combineImages: Boolean(o.combineImages),
            maxNum: o.maxNum,
          },
          sampling: samplingFrom(o),
          returnTokens: true,
        });
        console.error(`job ${jobId}`);
        for await (const e of client.stream(jobId)) {
          if (e.kind === 'tokens') process.stdout.write(e.delta);
          else if (e.error) throw Object.assign(new Error(e.error), { name: 'RangeError' });
        }
        process.stdout.write('\n');
        const r = await client.result(jobId, o.timeout * 1000);
        console.error(`finish_reason ${r.finishReason}; ${r.promptTokens} prompt + ${r.completionTokens} completion tokens; ttft ${r.timings.ttftMs} ms`);
        if (o.json) {
          writeFileSync(o.json, JSON.stringify({ prompt: r.prompt, input_ids: r.inputIds, num_patches: r.numPatches, tokens: r.tokens, text: r.text, finish_reason: r.finishReason, grounding: r.grounding, usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens } }));
        }
      } finally {
        await client.close();
      }
    });
}
