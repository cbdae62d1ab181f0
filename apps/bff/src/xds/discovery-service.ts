/**
 * Envoy's discovery services from Envoy's own protos (`ads.proto`, `rds.proto`, as `@grpc/grpc-js-xds`
 * ships them), and the message shapes proto-loader gives them (`keepCase`, `defaults`, enums by name).
 */
import * as grpc from '@grpc/grpc-js';
import { loadEnvoyServices, serviceAt } from '../envoy/grpc-services';

export interface XdsNode {
  readonly id?: string;
  readonly cluster?: string;
  readonly metadata?: { readonly fields?: Record<string, unknown> } | null;
}

export interface XdsAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/** `google.rpc.Status`, as a NACK carries it. */
export interface XdsStatus {
  readonly code?: number;
  readonly message?: string;
}

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: XdsNode | null;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: XdsStatus | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: XdsAny[];
  type_url: string;
  nonce: string;
}

export interface DeltaDiscoveryRequest {
  readonly node?: XdsNode | null;
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  readonly error_detail?: XdsStatus | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: XdsAny;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

interface Services {
  readonly ads: grpc.ServiceDefinition;
  readonly rds: grpc.ServiceDefinition;
}

let services: Services | undefined;

/** `envoy.service.discovery.v3.AggregatedDiscoveryService` and `envoy.service.route.v3.RouteDiscoveryService`. */
export function discoveryServices(): Services {
  if (!services) {
    const pkg = loadEnvoyServices(
      ['envoy/service/discovery/v3/ads.proto', 'envoy/service/route/v3/rds.proto'],
      String,
    );
    services = {
      ads: serviceAt(pkg, 'envoy.service.discovery.v3.AggregatedDiscoveryService'),
      rds: serviceAt(pkg, 'envoy.service.route.v3.RouteDiscoveryService'),
    };
  }
  return services;
}

/** Client constructors for tests and tools (real gRPC clients from the same protos). */
export function discoveryClientConstructors(): {
  ads: grpc.ServiceClientConstructor;
  rds: grpc.ServiceClientConstructor;
} {
  const { ads, rds } = discoveryServices();
  return {
    ads: grpc.makeGenericClientConstructor(ads, 'AggregatedDiscoveryService'),
    rds: grpc.makeGenericClientConstructor(rds, 'RouteDiscoveryService'),
  };
}
