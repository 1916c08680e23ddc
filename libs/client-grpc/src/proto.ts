import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const SERVING_PROTO = 'ivl/serving/v1/serving.proto';

/**
 * The protos/ folder: IVL_PROTOS_DIR, or the nearest one above this file (the repo root both from sources under
 * vitest and from the esbuild bundle in dist/).
 */
export function protosDir(): string {
  if (process.env.IVL_PROTOS_DIR) return process.env.IVL_PROTOS_DIR;
  for (let d = __dirname; ; d = dirname(d)) {
    if (existsSync(join(d, 'protos', SERVING_PROTO))) return join(d, 'protos');
    if (dirname(d) === d) throw new Error(`cannot find protos/${SERVING_PROTO} above ${__dirname}; set IVL_PROTOS_DIR`);
  }
}

/** keepCase: field names as in the .proto; `oneofs` names the field that is set; absent optionals stay undefined. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: false, arrays: true, oneofs: true };

export function loadServingProto(): { definition: protoLoader.PackageDefinition; service: grpc.ServiceDefinition; grpcObject: grpc.GrpcObject } {
  const definition = protoLoader.loadSync(SERVING_PROTO, { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
  const grpcObject = grpc.loadPackageDefinition(definition);
  const pkg = (grpcObject.ivl as grpc.GrpcObject).serving as grpc.GrpcObject;
  const ctor = (pkg.v1 as grpc.GrpcObject).Serving as grpc.ServiceClientConstructor;
  return { definition, service: ctor.service, grpcObject };
}
