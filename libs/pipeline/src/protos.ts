import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The repository's protos/ folder, found from the sources or from the bundle in dist/. */
export function protosDir(): string {
  if (process.env.IVL_PROTOS_DIR) return process.env.IVL_PROTOS_DIR;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'protos', 'ivl'))) return join(dir, 'protos');
    if (dirname(dir) === dir) throw new Error('protos/ not found (set IVL_PROTOS_DIR)');
  }
}

const LOADER_OPTS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** Loads a proto file of ours (path relative to protos/) as a grpc-js package. */
export function loadProto(relPath: string): grpc.GrpcObject {
  const def = protoLoader.loadSync(join(protosDir(), relPath), { ...LOADER_OPTS, includeDirs: [protosDir()] });
  return grpc.loadPackageDefinition(def);
}

let stageService: grpc.ServiceClientConstructor | undefined;

export function stageServiceClient(): grpc.ServiceClientConstructor {
  if (!stageService) {
    const pkg = loadProto('ivl/stage/v1/stage.proto') as unknown as { ivl: { stage: { v1: { Stage: grpc.ServiceClientConstructor } } } };
    stageService = pkg.ivl.stage.v1.Stage;
  }
  return stageService;
}

/** Large enough for a prefill chunk's activations in one message even before chunking. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_time_between_pings_ms': 5_000,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
};
