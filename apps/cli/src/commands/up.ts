import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import { WEIGHT_FORMATS } from '@ivl/compiler';
import { startLocalCluster } from '@ivl/local-cluster';
import { byteProgress } from '../progress';

export function upCommand(): Command {
  return new Command('up')
    .description('start a whole local cluster: Redis (if none), one worker per stage, and the gateway')
    .requiredOption('--model <dir>', 'published checkpoint directory')
    .option('--stages <n>', 'pipeline stages (worker processes)', Number, 1)
    .option('--plan <p>', 'card, balanced, or a full plan (card:G, balanced:G, ranges:...)', 'card')
    .option('--dtype <t>', WEIGHT_FORMATS.join(', '), 'fp32')
    .option('--redis <url>', 'use this Redis (default: 127.0.0.1:6379 if it answers, else a redis-server started here)')
    .option('--port <n>', 'REST port of the gateway', Number, 8000)
    .option('--grpc-port <n>', 'gRPC port of the gateway', Number, 50051)
    .option('--threads <n>', 'onnxruntime threads per worker (default: cores / stages)', Number)
    .option('--kv-budget-mb <n>', 'KV cache budget per stage', Number)
    .option('--queue-prefix <p>', 'BullMQ key prefix')
    .option('--host <addr>', 'address the gateway listens on (default loopback; 0.0.0.0 to serve other machines)', '127.0.0.1')
    .action(async (o) => {
      const bar = byteProgress('converting checkpoint (once; cached)');
      const cluster = await startLocalCluster({ ...o, onConvertProgress: bar.update });
      bar.stop();
      let stopping = false;
      const stop = async () => {
        if (stopping) {
          console.error('stopping now');
          await cluster.kill();
          process.exit(130);
        }
        stopping = true;
        console.error('\nstopping the local cluster: the gateway finishes running requests (up to 30 s), then the stages stop (Ctrl-C again: stop now)…');
        await cluster.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      await cluster.waitReady(300_000);
      const lines = [
        `ivl-cluster is up: ${o.stages} stage(s), plan ${cluster.plan}, ${o.dtype}`,
        `  redis     ${cluster.redisUrl}${cluster.queuePrefix ? ` (queue prefix ${cluster.queuePrefix})` : ''}`,
        `  stages    ${cluster.stagePorts.map((p, k) => `${k}=127.0.0.1:${p} (pid ${cluster.workers[k].pid})`).join(', ')}`,
        `  metrics   ${cluster.metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`).join(' ')}${cluster.httpPort ? ` http://127.0.0.1:${cluster.httpPort}/metrics` : ''}`,
      ];
      if (cluster.httpPort) {
        lines.push(
          `  REST      http://127.0.0.1:${cluster.httpPort}/v1  (OpenAPI docs: /docs)`,
          `  gRPC      127.0.0.1:${cluster.grpcPort}`,
          '',
          '  try:',
          `  curl -s http://127.0.0.1:${cluster.httpPort}/v1/chat/completions -H 'Content-Type: application/json' \\`,
          `    -d '{"model":"${basename(resolve(o.model))}","messages":[{"role":"user","content":"Hello, who are you?"}],"max_tokens":32}'`,
        );
      }
      lines.push('', `  or without the gateway: npx ivl generate --redis ${cluster.redisUrl}${cluster.queuePrefix ? ` --queue-prefix ${cluster.queuePrefix}` : ''} --prompt "Hello"`, '', 'Ctrl-C stops everything.');
      console.log(lines.join('\n'));
    });
}
