import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { GenerateClient } from '@ivl/queue';
import { addSamplingFlags, collectFlag, samplingFrom } from '../sampling-flags';

const userError = (message: string) => Object.assign(new Error(message), { name: 'RangeError' });

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
    .option('--timeout <s>', 'give up (and cancel the job) after this many seconds, queue time included', Number, 600)
    .action(async (o) => {
      if (!(o.timeout > 0)) throw userError(`--timeout must be a positive number of seconds, got ${o.timeout}`);
      const client = new GenerateClient(o.redis, { prefix: o.queuePrefix });
      // One deadline for the whole command, from submission to the stored result; Ctrl-C cancels the job too,
      // so no pipeline keeps generating for a client that is gone.
      const abort = new AbortController();
      const deadline = Date.now() + o.timeout * 1000;
      let why = '';
      const stopWith = (reason: string) => {
        why ||= reason;
        abort.abort();
      };
      const timer = setTimeout(() => stopWith(`no answer within ${o.timeout} s; the job was cancelled`), o.timeout * 1000);
      const onSigint = () => stopWith('interrupted; the job was cancelled');
      process.once('SIGINT', onSigint);
      let jobId: string | undefined;
      try {
        if (!(await client.ping())) throw userError(`no Redis at ${o.redis}`);
        jobId = await client.submit({
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
        for await (const e of client.stream(jobId, '0', abort.signal)) {
          if (e.kind === 'tokens') process.stdout.write(e.delta);
          else if (e.error) throw userError(e.error);
        }
        if (abort.signal.aborted) throw userError(why);
        process.stdout.write('\n');
        const r = await client.result(jobId, Math.max(1, deadline - Date.now())).catch((e: Error) => {
          throw userError(abort.signal.aborted ? why : e.message);
        });
        console.error(`finish_reason ${r.finishReason}; ${r.promptTokens} prompt + ${r.completionTokens} completion tokens; ttft ${r.timings.ttftMs} ms`);
        if (o.json) {
          writeFileSync(o.json, JSON.stringify({ prompt: r.prompt, input_ids: r.inputIds, num_patches: r.numPatches, tokens: r.tokens, text: r.text, finish_reason: r.finishReason, grounding: r.grounding, usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens } }));
        }
      } catch (e) {
        if (jobId && abort.signal.aborted) await client.cancel(jobId).catch(() => undefined);
        throw e;
      } finally {
        clearTimeout(timer);
        process.off('SIGINT', onSigint);
        await client.close();
      }
    });
}
