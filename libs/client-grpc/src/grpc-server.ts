import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { ServingBackend } from './backend';
import { loadServingProto } from './proto';
import { servingHandlers } from './serving-service';

export interface GrpcServerHandle {
  port: number;
  /** Stops taking calls, lets running ones finish for up to graceMs, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

/** Serves ivl.serving.v1.Serving with server reflection (so grpcurl needs no .proto). */
export async function startGrpcServer(backend: ServingBackend, host: string, port: number): Promise<GrpcServerHandle> {
  const { definition, service } = loadServingProto();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(service, servingHandlers(backend));
  new ReflectionService(definition).addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
