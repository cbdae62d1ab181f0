/** gRPC service definitions from Envoy's own protos, for the services Governor serves to Envoy. */
import type * as grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { envoyProtoRoots } from './proto-roots';

// Loaded on first use: a command that serves no gRPC (`governor render`) starts ~100 ms sooner without them.
const requireHere = createRequire(import.meta.url);
const grpcJs = (): typeof grpc => requireHere('@grpc/grpc-js');
const protoLoader = (): typeof ProtoLoader => requireHere('@grpc/proto-loader');

/** How 64-bit integers are decoded: as numbers or as decimal strings. */
export type Longs = NumberConstructor | StringConstructor;

/**
 * The protos' package tree as proto-loader decodes messages: fields by their proto names (`keepCase`),
 * defaults filled in, enums by name, 64-bit integers as `longs` says.
 */
export function loadEnvoyServices(files: string | string[], longs: Longs): grpc.GrpcObject {
  const definition = protoLoader().loadSync(files, {
    includeDirs: envoyProtoRoots(),
    keepCase: true,
    longs,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpcJs().loadPackageDefinition(definition);
}

/** The service of that full name (`envoy.service.ratelimit.v3.RateLimitService`) in a loaded tree. */
export function serviceAt(pkg: grpc.GrpcObject, fullName: string): grpc.ServiceDefinition {
  let at: unknown = pkg;
  for (const part of fullName.split('.')) at = (at as Record<string, unknown> | undefined)?.[part];
  const service = (at as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (!service) throw new Error(`${fullName} is not a service of the loaded protos`);
  return service;
}

export interface EnvoyService {
  /** The definition, loaded on first call. */
  definition(): grpc.ServiceDefinition;
  /** The client constructor for tests and tools (a real gRPC client from the same proto). */
  clientConstructor(): grpc.ServiceClientConstructor;
}

/** One service of one proto file, by its full name (`envoy.service.ratelimit.v3.RateLimitService`). */
export function envoyService(file: string, fullName: string, longs: Longs): EnvoyService {
  let service: grpc.ServiceDefinition | undefined;
  const definition = () => (service ??= serviceAt(loadEnvoyServices(file, longs), fullName));
  return {
    definition,
    clientConstructor: () => grpcJs().makeGenericClientConstructor(definition(), fullName.split('.').pop()!),
  };
}
