import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { GENERATE_QUEUE, type GenerateJobData, type GenerateJobResult, TokenStreamWriter, keys } from '@ivl/queue';
import { testRedisUrl } from '@ivl/test-support';

/**
 * A stand-in for a pipeline: consumes the queue like the stage-0 driver (token stream per job, result as return
 * value) and answers a fixed text word by word. Lets the gateway's relays, batches and gRPC run end to end without a
 * model; the real cluster is exercised in e2e.spec.ts.
 */
export function startFakeWorker(prefix: string, opts: { words?: string[]; delayMs?: number; grounding?: GenerateJobResult['grounding'] } = {}) {
  const words = opts.words ?? ['Hello', ' from', ' the', ' fake', ' pipeline.'];
  const redis = new IORedis(testRedisUrl(), { maxRetriesPerRequest: null });
  const seen: GenerateJobData[] = [];
  const worker = new Worker<GenerateJobData, GenerateJobResult>(
    GENERATE_QUEUE,
    async (job) => {
      seen.push(job.data);
      const w = await TokenStreamWriter.claim(redis, job.id!, `fake-${job.attemptsMade}`);
      const n = Math.min(words.length, job.data.sampling.maxNewTokens);
      let finish: GenerateJobResult['finishReason'] = n < words.length ? 'length' : 'stop';
      let i = 0;
      for (; i < n; i++) {
        if (await redis.exists(keys.cancel(job.id!))) {
          finish = 'cancelled';
          break;
        }
        await w.append(i, [1000 + i], words[i]);
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      }
      await w.end(finish);
      return {
        text: words.slice(0, i).join(''),
        finishReason: finish,
        promptTokens: 42,
        completionTokens: i,
        grounding: opts.grounding,
        timings: { queueMs: 0, ttftMs: 0, prefillMs: 0, decodeMs: 0, totalMs: 0 },
      };
    },
    { connection: redis.duplicate(), prefix, concurrency: 8 },
  );
  return {
    seen,
    words,
    async stop() {
      await worker.close(true);
      redis.disconnect();
    },
  };
}
