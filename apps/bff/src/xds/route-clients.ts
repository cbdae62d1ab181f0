/**
 * MetaProtocol proxies' RDS subscriptions, as real gRPC clients of a route server: one ADS stream per
 * proxy, subscribed to the route configurations it needs, ACKing every version it gets and keeping what it
 * got. The embedded mesh's proxies route with these, so that the demo's calls take the path a real proxy's
 * do (MetaRouter → route server → proxy) and the dashboard shows real subscriptions.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeProto3Json } from '../envoy/metaprotocol-protos';
import {
  ROUTE_TYPE_URL,
  fromHttpRouteConfiguration,
  type HttpRouteConfiguration,
  type MetaRouteConfiguration,
} from '../envoy/metaprotocol-route';
import { discoveryClientConstructors, type DiscoveryResponse } from './discovery-service';

export interface RouteClientProxy {
  /** The proxy's node id, as a sidecar's: `sidecar~<pod IP>~<pod>.<namespace>~<namespace>.svc.cluster.local`. */
  readonly node: string;
  /** Its Envoy cluster (`<app>.<namespace>`). */
  readonly cluster: string;
  /** The route configurations it needs. */
  readonly names: readonly string[];
}

interface Stream {
  readonly call: grpc.ClientDuplexStream<object, DiscoveryResponse>;
  names: readonly string[];
  cluster: string;
  version: string;
  nonce: string;
  readonly received: Map<string, MetaRouteConfiguration>;
}

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<object, DiscoveryResponse>;
};

export class RouteClients {
  private readonly client: AdsClient;
  private readonly streams = new Map<string, Stream>();

  constructor(address: string) {
    const Client = discoveryClientConstructors().ads;
    this.client = new Client(address, grpc.credentials.createInsecure()) as unknown as AdsClient;
  }

  /** Opens streams for new proxies, changes the subscriptions of others, closes those gone. */
  sync(proxies: readonly RouteClientProxy[]): void {
    const wanted = new Map(proxies.map((p) => [p.node, p]));
    for (const [node, stream] of this.streams)
      if (!wanted.has(node)) {
        stream.call.end();
        this.streams.delete(node);
      }
    for (const proxy of proxies) {
      const stream = this.streams.get(proxy.node);
      if (!stream) this.open(proxy);
      else if (stream.names.join('\n') !== [...proxy.names].sort().join('\n')) {
        stream.names = [...proxy.names].sort();
        this.request(proxy.node, stream);
      }
    }
  }

  /** The route configuration a proxy last received (and ACKed); undefined before it has one. */
  routes(node: string, name: string): MetaRouteConfiguration | undefined {
    return this.streams.get(node)?.received.get(name);
  }

  close(): void {
    for (const s of this.streams.values()) s.call.end();
    this.streams.clear();
    this.client.close();
  }

  private open(proxy: RouteClientProxy): void {
    const call = this.client.StreamAggregatedResources();
    const stream: Stream = {
      call,
      names: [...proxy.names].sort(),
      cluster: proxy.cluster,
      version: '',
      nonce: '',
      received: new Map(),
    };
    this.streams.set(proxy.node, stream);
    call.on('data', (r: DiscoveryResponse & { resources: { value: Buffer }[] }) => {
      for (const resource of r.resources) {
        const config = fromHttpRouteConfiguration(
          decodeProto3Json(ROUTE_TYPE_URL, resource.value) as unknown as HttpRouteConfiguration,
        );
        stream.received.set(config.name, config);
      }
      stream.version = r.version_info;
      stream.nonce = r.nonce;
      this.request(proxy.node, stream);
    });
    // A stream that ends (the server stopping) is opened again at the next sync.
    const drop = () => {
      if (this.streams.get(proxy.node) === stream) this.streams.delete(proxy.node);
    };
    call.on('error', drop);
    call.on('end', drop);
    this.request(proxy.node, stream);
  }

  /** A request with the last version and nonce: the first subscription, an ACK, or a new subscription. */
  private request(node: string, stream: Stream): void {
    stream.call.write({
      node: { id: node, cluster: stream.cluster },
      type_url: ROUTE_TYPE_URL,
      resource_names: stream.names,
      version_info: stream.version,
      response_nonce: stream.nonce,
    });
  }
}
