import { Command, InvalidArgumentError } from 'commander';
import { installProcessGuards, supervised, watchParent } from '@ivl/telemetry';
import { gatewayEnv } from './config';
import { startGateway } from './start-gateway';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
};

/** `ivl gateway` and the gateway image's entry point: flags and environment in, startGateway out, signals handled. */
export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('OpenAI-compatible REST, gRPC and batch API in front of the ivl-cluster queue')
    .requiredOption('--model <dir>', 'published checkpoint directory (config.json + tokenizer files)')
    .option('--redis <url>', 'Redis URL', process.env.IVL_REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option('--queue-prefix <prefix>', 'BullMQ prefix of the generate queue', process.env.IVL_QUEUE_PREFIX)
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', process.env.IVL_HOST ?? '127.0.0.1')
    .option('--port <port>', 'REST port', port, Number(process.env.IVL_PORT ?? 8000))
    .option('--grpc-port <port>', 'gRPC port (omit for no gRPC server)', port, process.env.IVL_GRPC_PORT ? Number(process.env.IVL_GRPC_PORT) : undefined)
    .option('--served-model-name <names...>', 'model names clients may use (default: the model directory name)')
    .option('--shutdown-grace <ms>', 'how long running requests may finish on SIGTERM', Number, 30_000)
    .addHelpText('after', '\nAPI keys and limits come from the environment: IVL_API_KEYS=key1,key2 (none: auth off), IVL_RATE_LIMIT_RPM, IVL_MAX_QUEUED, IVL_MAX_IMAGES, … (see libs/gateway/README.md).')
    .action(async (o: { model: string; redis: string; queuePrefix?: string; host: string; port: number; grpcPort?: number; servedModelName?: string[]; shutdownGrace: number }) => {
      installProcessGuards({ name: 'gateway', log: (m) => console.error(`${new Date().toISOString()} [gateway] ${m}`) });
      const env = gatewayEnv();
      // Signals are handled from the start: one that arrives while the gateway is still starting stops it as soon
      // as it is up, instead of killing the process with the default action.
      const started: { gw?: Awaited<ReturnType<typeof startGateway>> } = {};
      let stopping = false;
      let pending: string | undefined;
      const stop = (signal: string) => {
        if (stopping) process.exit(1); // a second signal: stop now
        const gw = started.gw;
        if (!gw) {
          pending = signal;
          return;
        }
        stopping = true;
        console.log(`${signal}: finishing running requests (up to ${o.shutdownGrace} ms)…`);
        gw.close(o.shutdownGrace).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      // Under `ivl up`, Ctrl-C reaches the whole process group; the supervisor then stops the gateway first (SIGTERM)
      // so that running streams finish before the stages go.
      process.on('SIGINT', () => (supervised() ? undefined : stop('SIGINT')));
      watchParent(() => stop('parent exited'));
      started.gw = await startGateway({
        modelDir: o.model,
        redisUrl: o.redis,
        queuePrefix: o.queuePrefix,
        host: o.host,
        port: o.port,
        grpcPort: o.grpcPort,
        apiKeys: env.apiKeys,
        servedModelName: o.servedModelName ?? env.servedModelName,
        limits: env.limits,
      });
      if (pending) stop(pending);
    });
}

