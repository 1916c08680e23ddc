// The client-facing gRPC API (protos/ivl/serving/v1/serving.proto) over the same backend as the REST API.
export * from './backend';
export * from './proto';
export * from './from-proto';
export { toServiceError } from './status-map';
export { servingHandlers } from './serving-service';
export { startGrpcServer, type GrpcServerHandle } from './grpc-server';
