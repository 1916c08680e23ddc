import { hostname } from 'node:os';
import { fatal, installProcessGuards, supervised, watchParent } from '@ivl/telemetry';
import { Command } from 'commander';
import { WEIGHT_FORMATS } from '@ivl/compiler';
import { PLAN_SYNTAX } from '@ivl/plan';
import { startWorker } from './start-worker';
import { WORKER_DEFAULTS, WorkerOptions, onOff } from './worker-options';

/** `ivl worker` (and the worker image's entry point): one stage of one pipeline. */
export function workerCommand(): Command {
  const d = WORKER_DEFAULTS;
  return new Command('worker')
    .description('run one pipeline stage (stage 0 also consumes the queue and drives the ring)')
    .requiredOption('--model <dir>', 'published checkpoint directory (or a converted bundle)')
    .requiredOption('--stage <k>', 'this worker\'s stage index', Number)
    .requiredOption('--peers <list>', 'comma-separated host:port of every stage of this pipeline, in stage order')
    .option('--plan <p>', PLAN_SYNTAX, d.plan)
    .option('--dtype <t>', WEIGHT_FORMATS.join(', '), d.dtype)
    .option('--listen <addr>', 'bind address of the stage and its metrics (default 127.0.0.1:<port of this stage in --peers>; 0.0.0.0:<port> to serve other hosts)')
    .option('--device <d>', 'cpu or cuda:N (CUDA when onnxruntime\'s CUDA libraries are present)', d.device)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', Number)
    .option('--kv-budget-mb <n>', 'KV cache budget of this stage', Number, d.kvBudgetMb)
    .option('--kv-dtype <t>', 'KV cache type: fp32 or fp16 (default: the activations\' type; fp16 halves the cache)')
    .option('--cache-dir <dir>', 'where converted bundles are cached')
    .option('--redis <url>', 'stage 0: the Redis holding the queue')
    .option('--queue-prefix <p>', 'BullMQ key prefix (default bull)')
    .option('--pipeline-id <id>', 'name of this pipeline (default: host and pid)')
    .option('--max-sequences <n>', 'stage 0: sequences generated at once', Number, d.maxSequences)
    .option('--vision-cache-mb <n>', 'stage 0: image embeddings kept per tile for repeated images (0 = off)', Number, d.visionCacheMb)
    .option('--prefix-cache <on|off>', 'stage 0: reuse the KV of earlier prompts and chat turns (the prefix cache)', onOff, d.prefixCache)
    .option('--media-threads <n>', 'stage 0: threads decoding and tiling images and videos (also the most decoded at once)', Number, d.mediaThreads)
    .option('--vision-parts <n>', 'stage 0: calls one tile\'s vision pass is split into, so decode steps run between them (default 1 on CUDA, 6 on CPU)', Number)
    .option('--max-batch <n>', 'stage 0: most sequences per decode micro-batch', Number, d.maxBatch)
    .option('--prefill-chunk <n>', 'stage 0: prefill positions per step, next to its decode rows (default 512 on CUDA, 32 on CPU)', Number)
    .option('--max-in-flight <n>', 'stage 0: micro-batches round the ring at once (default: number of stages)', Number)
    .option('--batch-timeout-ms <n>', 'stage 0: fail a micro-batch that has not come back', Number, d.batchTimeoutMs)
    .option('--metrics-port <n>', 'Prometheus /metrics port (-1 = off)', Number, d.metricsPort)
    .option('--drain-ms <n>', 'on SIGTERM, time allowed for running answers before they are handed back', Number, d.drainMs)
    .action(async (f) => {
      const peers = (f.peers as string).split(',').map((p) => p.trim()).filter(Boolean);
      const log = (msg: string) => console.error(`[stage ${f.stage}] ${new Date().toISOString()} ${msg}`);
      process.title = `ivl-worker stage=${f.stage}/${peers.length}`;
      const o: WorkerOptions = {
        ...d,
        ...f,
        peers,
        pipelineId: f.pipelineId ?? `${hostname()}-${process.pid}`,
        kvIdleMs: d.kvIdleMs,
        log,
      };
      installProcessGuards({ name: `stage ${f.stage}`, log });
      const w = await startWorker(o);
      installProcessGuards({ name: `stage ${f.stage}`, log, beforeExit: (reason) => w.markNotServing(reason) });
      // A stage whose onnxruntime thread died cannot compute any more: NOT_SERVING, then exit for a restart.
      w.model.onDeath((e) => void fatal(`the onnxruntime thread died: ${e.message}`));
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        log(`${sig}: draining`);
        await w.stop();
        log('stopped');
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      // Under `ivl up` Ctrl-C reaches every process; the supervisor stops the gateway first, then the stages.
      process.on('SIGINT', () => (supervised() ? undefined : void stop('SIGINT')));
      watchParent(() => void stop('parent exited'));
      // Announced only once the signal handlers are in place: a supervisor may stop the worker as soon as it reads this.
      log(`serving on port ${w.port}`);
    });
}
