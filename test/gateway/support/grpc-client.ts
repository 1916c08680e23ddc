import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, SERVING_PROTO, protosDir } from '@ivl/client-grpc';

/** A client of ivl.serving.v1.Serving built from the .proto, as any user would (no generated code). */
export function servingClient(port: number): grpc.Client & Record<string, any> {
  const def = protoLoader.loadSync(SERVING_PROTO, { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
  const Ctor = (grpc.loadPackageDefinition(def) as any).ivl.serving.v1.Serving as grpc.ServiceClientConstructor;
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
}

export function unaryCall<T>(client: any, method: string, req: unknown, md = new grpc.Metadata()): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, md, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
}

/** Lists services through server reflection (what `grpcurl list` does). */
export function reflectionList(port: number): Promise<string[]> {
  const file = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1alpha/reflection.proto');
  const def = protoLoader.loadSync(file, { keepCase: true });
  const Ctor = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1alpha.ServerReflection as grpc.ServiceClientConstructor;
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (r: any) => {
      resolve(r.list_services_response.service.map((s: { name: string }) => s.name));
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
}
