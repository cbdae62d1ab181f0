/**
 * Governor as the RDS server of Aeraki's MetaProtocol proxies: they fetch their route configurations
 * (one per MetaProtocol service port) from here, over Envoy's xDS protocol.
 *
 * Served: `envoy.service.discovery.v3.AggregatedDiscoveryService` (StreamAggregatedResources, state of
 * the world; DeltaAggregatedResources, incremental) and `envoy.service.route.v3.RouteDiscoveryService`
 * (StreamRoutes, DeltaRoutes). Two type URLs: Envoy's RouteConfiguration, which the proxy asks for and
 * which carries each MetaProtocol configuration (see `envoy/metaprotocol-route.ts`), and Aeraki's own
 * RouteConfiguration, for tools. A request for any other type URL is ignored, as go-control-plane does
 * for a type its cache does not hold: an empty answer would tell a proxy that shares the ADS stream
 * that every resource of that type is gone.
 *
 * Each resource has its own version, a hash of its content, so `setRoutes` pushes only to the streams
 * subscribed to a configuration that changed. Per stream and resource the server records what it sent,
 * what the client ACKed and the last NACK with its message (`subscriptions()`, `onStatus`).
 *
 * Network input is bounded (`RouteServerLimits`, documented in docs/xds-route-server.md): connections,
 * streams, streams per connection, message size, resource names per stream, a first request within a
 * time, keepalive pings, idle connections.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { canonicalJson } from '../lib/canonical-json';
import { limitsOver } from '../lib/limits';
import { encodeRouteResource } from '../envoy/metaprotocol-protos';
import {
  META_ROUTE_TYPE_URL,
  ROUTE_TYPE_URL,
  type MetaRouteConfiguration,
} from '../envoy/metaprotocol-route';
import {
  discoveryServices,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type XdsAny,
  type XdsNode,
} from './discovery-service';

/** istiod serves xDS on 15010; Governor's route server sits beside it. */
export const DEFAULT_XDS_PORT = 18010;

const ROUTE_TYPE_URLS: ReadonlySet<string> = new Set([ROUTE_TYPE_URL, META_ROUTE_TYPE_URL]);

export interface RouteServerLimits {
  /** One request message (resource names, node metadata). Default 1 MiB. */
  readonly maxRequestBytes: number;
  /** One response (every configuration a stream subscribes to). Default 64 MiB. */
  readonly maxResponseBytes: number;
  /** TCP connections open at once; more are closed on arrival. Default 2048. */
  readonly maxConnections: number;
  /** Streams open at once, over every connection. Default 4096. */
  readonly maxStreams: number;
  /** Streams open at once on one connection (HTTP/2 `MAX_CONCURRENT_STREAMS`). Default 100. */
  readonly maxStreamsPerConnection: number;
  /** Resource names one stream may subscribe to, over both type URLs. Default 10 000. */
  readonly maxResourceNamesPerStream: number;
  /** A stream that sends no request by then is ended. Default 10 s. */
  readonly firstRequestTimeoutMs: number;
  /** Server pings a connection this often (Envoy answers them). Default 30 s. */
  readonly keepaliveTimeMs: number;
  /** A ping unanswered for this long closes the connection. Default 10 s. */
  readonly keepaliveTimeoutMs: number;
  /** A connection without a stream for this long is closed. Default 5 minutes. */
  readonly connectionIdleMs: number;
}

export const DEFAULT_ROUTE_SERVER_LIMITS: RouteServerLimits = Object.freeze({
  maxRequestBytes: 1024 * 1024,
  maxResponseBytes: 64 * 1024 * 1024,
  maxConnections: 2048,
  maxStreams: 4096,
  maxStreamsPerConnection: 100,
  maxResourceNamesPerStream: 10_000,
  firstRequestTimeoutMs: 10_000,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  connectionIdleMs: 5 * 60_000,
});

export interface RouteServerOptions {
  /** `listen()`'s default host. Default 127.0.0.1. */
  readonly host?: string;
  /** `listen()`'s default port. Default `DEFAULT_XDS_PORT` (18010); 0 picks a free one. */
  readonly port?: number;
  readonly limits?: Partial<RouteServerLimits>;
  readonly now?: () => number;
}

/** One client's view of one resource. */
export interface RouteSubscription {
  /** The stream's id in this server, for telling two streams of one node apart. */
  readonly streamId: number;
  readonly nodeId: string;
  readonly cluster: string;
  readonly typeUrl: string;
  readonly mode: 'sotw' | 'delta';
  readonly resourceName: string;
  /** The version last sent; null when nothing was (the configuration does not exist yet). */
  readonly versionSent: string | null;
  readonly versionAcked: string | null;
  /** The last NACK since the last ACK of this resource. */
  readonly nacked: { readonly version: string; readonly message: string } | null;
  readonly connectedAt: number;
  readonly lastAckAt: number | null;
}

export type RouteStatusEvent =
  | {
      readonly kind: 'connect' | 'disconnect';
      readonly streamId: number;
      readonly nodeId: string;
      readonly at: number;
    }
  | {
      readonly kind: 'ack';
      readonly streamId: number;
      readonly nodeId: string;
      readonly typeUrl: string;
      readonly resources: readonly { readonly name: string; readonly version: string }[];
      readonly at: number;
    }
  | {
      readonly kind: 'nack';
      readonly streamId: number;
      readonly nodeId: string;
      readonly typeUrl: string;
      readonly resources: readonly { readonly name: string; readonly version: string }[];
      readonly message: string;
      readonly at: number;
    };

/** A configuration with its version and its encodings, made once per content. */
interface Resource {
  readonly config: MetaRouteConfiguration;
  readonly version: string;
  readonly encoded: Map<string, XdsAny>;
}

interface ResourceState {
  sent: string | null;
  acked: string | null;
  nacked: { version: string; message: string } | null;
  lastAckAt: number | null;
}

/** One type URL on one stream. */
interface Watch {
  readonly typeUrl: string;
  wildcard: boolean;
  readonly names: Set<string>;
  readonly state: Map<string, ResourceState>;
  /** SotW: what the last response held, by name; delta: what the client holds, by name. */
  readonly held: Map<string, string>;
  /** Responses not yet answered: nonce → the resources they carried. */
  readonly inFlight: Map<string, Map<string, string>>;
  /** Delta: `initial_resource_versions` is read from the first request only. */
  started: boolean;
  /** SotW: a response went out (the wildcard's first one may be empty). */
  responded: boolean;
}

interface Stream {
  readonly id: number;
  readonly mode: 'sotw' | 'delta';
  /** Plain RDS: a request without a type URL means routes. */
  readonly defaultTypeUrl: string | null;
  readonly connectedAt: number;
  node: { id: string; cluster: string; metadata: Record<string, unknown> } | null;
  readonly watches: Map<string, Watch>;
  nonce: number;
  readonly send: (response: DiscoveryResponse | DeltaDiscoveryResponse) => void;
  readonly fail: (code: grpc.status, details: string) => void;
}

/** Requests answered in-flight beyond this many are forgotten: a client answers each in order. */
const MAX_IN_FLIGHT = 32;

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

function nodeOf(node: XdsNode | null | undefined): Stream['node'] {
  if (!node?.id) return null;
  return { id: node.id, cluster: node.cluster ?? '', metadata: node.metadata?.fields ?? {} };
}

export class RouteServer {
  readonly limits: RouteServerLimits;
  private readonly server: grpc.Server;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private tcp: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly resources = new Map<string, Resource>();
  private readonly streams = new Map<number, Stream>();
  private readonly listeners = new Set<(event: RouteStatusEvent) => void>();
  private nextStreamId = 1;
  private readonly now: () => number;

  constructor(private readonly options: RouteServerOptions = {}) {
    const limits = limitsOver(DEFAULT_ROUTE_SERVER_LIMITS, options.limits);
    this.limits = limits;
    this.now = options.now ?? Date.now;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': limits.maxRequestBytes,
      'grpc.max_send_message_length': limits.maxResponseBytes,
      'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
      'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
      'grpc.max_connection_idle_ms': limits.connectionIdleMs,
    });
    const { ads, rds } = discoveryServices();
    const sotw =
      (defaultTypeUrl: string | null) =>
      (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        this.open(call, 'sotw', defaultTypeUrl);
    const delta =
      (defaultTypeUrl: string | null) =>
      (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
        this.open(call, 'delta', defaultTypeUrl);
    this.server.addService(ads, {
      StreamAggregatedResources: sotw(null),
      DeltaAggregatedResources: delta(null),
    });
    this.server.addService(rds, { StreamRoutes: sotw(ROUTE_TYPE_URL), DeltaRoutes: delta(ROUTE_TYPE_URL) });
    // Sockets go through our own listener so that connections can be counted and refused before any
    // HTTP/2 state exists for them, which grpc-js's own listener cannot do.
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  // ---- input ----

  /** Replaces the whole set; pushes to the streams whose subscribed configurations changed. */
  setRoutes(configs: readonly MetaRouteConfiguration[]): void {
    const next = new Map<string, Resource>();
    for (const config of configs) {
      if (next.has(config.name))
        throw new Error(`two route configurations named ${JSON.stringify(config.name)}`);
      const version = hash(canonicalJson(config));
      const before = this.resources.get(config.name);
      next.set(config.name, before?.version === version ? before : { config, version, encoded: new Map() });
    }
    const changed = new Set<string>();
    for (const [name, r] of next) if (this.resources.get(name)?.version !== r.version) changed.add(name);
    for (const name of this.resources.keys()) if (!next.has(name)) changed.add(name);
    if (changed.size === 0) return;
    // Encode before changing anything, so a configuration that cannot be encoded changes nothing.
    for (const name of changed) {
      const r = next.get(name);
      if (r) this.encoded(r, ROUTE_TYPE_URL);
    }
    this.resources.clear();
    for (const [name, r] of next) this.resources.set(name, r);
    for (const stream of this.streams.values())
      for (const watch of stream.watches.values())
        if (watch.wildcard || [...changed].some((n) => watch.names.has(n) || watch.held.has(n)))
          this.respond(stream, watch);
  }

  /** The configurations served now, with their versions. */
  routes(): { name: string; version: string }[] {
    return [...this.resources.values()].map((r) => ({ name: r.config.name, version: r.version }));
  }

  // ---- read model ----

  /** Every client's every resource: what was sent, ACKed, NACKed. */
  subscriptions(): RouteSubscription[] {
    const out: RouteSubscription[] = [];
    for (const stream of this.streams.values()) {
      if (!stream.node) continue;
      for (const watch of stream.watches.values()) {
        const names = new Set([...watch.names, ...watch.state.keys()]);
        for (const name of [...names].sort()) {
          const s = watch.state.get(name);
          out.push({
            streamId: stream.id,
            nodeId: stream.node.id,
            cluster: stream.node.cluster,
            typeUrl: watch.typeUrl,
            mode: stream.mode,
            resourceName: name,
            versionSent: s?.sent ?? null,
            versionAcked: s?.acked ?? null,
            nacked: s?.nacked ? { ...s.nacked } : null,
            connectedAt: stream.connectedAt,
            lastAckAt: s?.lastAckAt ?? null,
          });
        }
      }
    }
    return out;
  }

  /** Called on every connect, disconnect, ACK and NACK; returns the unsubscribe. */
  onStatus(listener: (event: RouteStatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  // ---- lifecycle ----

  /** Binds and serves; resolves to the port bound. */
  async listen(
    host = this.options.host ?? '127.0.0.1',
    port = this.options.port ?? DEFAULT_XDS_PORT,
  ): Promise<number> {
    if (this.tcp) throw new Error('already listening');
    const tcp = net.createServer((socket) => {
      if (this.sockets.size >= this.limits.maxConnections) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.injector.injectConnection(socket);
    });
    this.tcp = tcp;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    return (tcp.address() as net.AddressInfo).port;
  }

  /** Stops taking connections and ends every stream (proxies reconnect elsewhere). */
  async close(): Promise<void> {
    const tcp = this.tcp;
    this.tcp = undefined;
    const closed = tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : Promise.resolve();
    for (const stream of [...this.streams.values()])
      stream.fail(grpc.status.UNAVAILABLE, 'the server is closing');
    this.injector.destroy();
    this.server.forceShutdown();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // ---- streams ----

  private emit(event: RouteStatusEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the protocol goes on.
      }
    }
  }

  private open(
    call: grpc.ServerDuplexStream<
      DiscoveryRequest | DeltaDiscoveryRequest,
      DiscoveryResponse | DeltaDiscoveryResponse
    >,
    mode: 'sotw' | 'delta',
    defaultTypeUrl: string | null,
  ): void {
    if (this.streams.size >= this.limits.maxStreams) {
      call.emit('error', {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `more than ${this.limits.maxStreams} streams open`,
      });
      return;
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.streams.delete(stream.id);
      if (stream.node)
        this.emit({ kind: 'disconnect', streamId: stream.id, nodeId: stream.node.id, at: this.now() });
    };
    const stream: Stream = {
      id: this.nextStreamId++,
      mode,
      defaultTypeUrl,
      connectedAt: this.now(),
      node: null,
      watches: new Map(),
      nonce: 0,
      send: (response) => {
        if (!ended) call.write(response);
      },
      fail: (code, details) => {
        if (ended) return;
        end();
        call.emit('error', { code, details });
      },
    };
    this.streams.set(stream.id, stream);
    const timer = setTimeout(
      () =>
        stream.fail(
          grpc.status.DEADLINE_EXCEEDED,
          `no request within ${this.limits.firstRequestTimeoutMs} ms`,
        ),
      this.limits.firstRequestTimeoutMs,
    );
    timer.unref();
    call.on('data', (request: DiscoveryRequest | DeltaDiscoveryRequest) => {
      if (ended) return;
      clearTimeout(timer);
      try {
        if (mode === 'sotw') this.sotwRequest(stream, request as DiscoveryRequest);
        else this.deltaRequest(stream, request as DeltaDiscoveryRequest);
      } catch (e) {
        stream.fail(
          e instanceof RangeError ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT,
          e instanceof Error ? e.message : 'a request that is not understood',
        );
      }
    });
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', end);
    call.on('cancelled', end);
    call.on('close', end);
  }

  /** The first request names the node; without one the stream is refused. */
  private identify(stream: Stream, node: XdsNode | null | undefined): void {
    if (stream.node) return;
    stream.node = nodeOf(node);
    if (!stream.node) throw new Error('the first request names no node (node.id)');
    this.emit({ kind: 'connect', streamId: stream.id, nodeId: stream.node.id, at: this.now() });
  }

  /** The watch of a route type URL, or undefined for a type URL this server ignores. */
  private watchOf(stream: Stream, requestTypeUrl: string): Watch | undefined {
    const typeUrl = requestTypeUrl === '' ? stream.defaultTypeUrl : requestTypeUrl;
    if (typeUrl === null || !ROUTE_TYPE_URLS.has(typeUrl)) return undefined;
    let watch = stream.watches.get(typeUrl);
    if (!watch) {
      watch = {
        typeUrl,
        wildcard: false,
        names: new Set(),
        state: new Map(),
        held: new Map(),
        inFlight: new Map(),
        started: false,
        responded: false,
      };
      stream.watches.set(typeUrl, watch);
    }
    return watch;
  }

  private checkNames(stream: Stream): void {
    let n = 0;
    for (const w of stream.watches.values()) n += w.names.size;
    if (n > this.limits.maxResourceNamesPerStream)
      throw new RangeError(`more than ${this.limits.maxResourceNamesPerStream} resource names on one stream`);
  }

  private stateOf(watch: Watch, name: string): ResourceState {
    let s = watch.state.get(name);
    if (!s) {
      s = { sent: null, acked: null, nacked: null, lastAckAt: null };
      watch.state.set(name, s);
    }
    return s;
  }

  /** An answer to the response `nonce`: an ACK, or a NACK when it carries `error_detail`. */
  private answered(stream: Stream, watch: Watch, nonce: string, error: string | null): boolean {
    const carried = watch.inFlight.get(nonce);
    if (!carried) return false;
    // Older responses are superseded by this one: the client answers in order.
    for (const n of watch.inFlight.keys()) {
      watch.inFlight.delete(n);
      if (n === nonce) break;
    }
    const at = this.now();
    const resources = [...carried].map(([name, version]) => ({ name, version }));
    for (const { name, version } of resources) {
      const s = this.stateOf(watch, name);
      if (error === null) {
        s.acked = version;
        s.nacked = null;
        s.lastAckAt = at;
      } else s.nacked = { version, message: error };
    }
    const nodeId = stream.node!.id;
    if (error === null)
      this.emit({ kind: 'ack', streamId: stream.id, nodeId, typeUrl: watch.typeUrl, resources, at });
    else
      this.emit({
        kind: 'nack',
        streamId: stream.id,
        nodeId,
        typeUrl: watch.typeUrl,
        resources,
        message: error,
        at,
      });
    return true;
  }

  /**
   * A request taken in: its node recorded, its answer to an earlier response (an ACK, or a NACK with
   * `error_detail`) taken; its watch, undefined for a type URL this server ignores, and whether the
   * answer is stale (to a response that a newer one replaced).
   */
  private received(
    stream: Stream,
    request: DiscoveryRequest | DeltaDiscoveryRequest,
  ): { watch: Watch; stale: boolean } | undefined {
    this.identify(stream, request.node);
    const watch = this.watchOf(stream, request.type_url);
    if (!watch) return undefined;
    if (request.response_nonce === '') return { watch, stale: false };
    const error = request.error_detail ? (request.error_detail.message ?? '') || 'rejected' : null;
    return { watch, stale: !this.answered(stream, watch, request.response_nonce, error) };
  }

  private sotwRequest(stream: Stream, request: DiscoveryRequest): void {
    const received = this.received(stream, request);
    // A stale nonce answers a response that a newer one replaced: the xDS protocol says to ignore it.
    if (!received || received.stale) return;
    const { watch } = received;
    // SotW: the request's names are the whole subscription; none at all is the wildcard.
    const wildcard = request.resource_names.length === 0 || request.resource_names.includes('*');
    watch.wildcard = wildcard;
    watch.names.clear();
    for (const name of request.resource_names) if (name !== '*') watch.names.add(name);
    for (const name of [...watch.state.keys()])
      if (!wildcard && !watch.names.has(name)) watch.state.delete(name);
    this.checkNames(stream);
    this.respond(stream, watch);
  }

  private deltaRequest(stream: Stream, request: DeltaDiscoveryRequest): void {
    // A NACKed version is not sent again: the client keeps its previous one until a change.
    const watch = this.received(stream, request)?.watch;
    if (!watch) return;
    if (!watch.started) {
      watch.started = true;
      // An empty first subscription is the wildcard (legacy delta wildcard), as is "*".
      if (request.resource_names_subscribe.length === 0) watch.wildcard = true;
      for (const [name, version] of Object.entries(request.initial_resource_versions ?? {}))
        watch.held.set(name, version);
    }
    for (const name of request.resource_names_subscribe) {
      if (name === '*') watch.wildcard = true;
      else watch.names.add(name);
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === '*') watch.wildcard = false;
      else {
        watch.names.delete(name);
        watch.held.delete(name);
        watch.state.delete(name);
      }
    }
    this.checkNames(stream);
    this.respond(stream, watch);
  }

  private encoded(resource: Resource, typeUrl: string): XdsAny {
    let any = resource.encoded.get(typeUrl);
    if (!any) {
      any = { type_url: typeUrl, value: encodeRouteResource(resource.config, typeUrl) };
      resource.encoded.set(typeUrl, any);
    }
    return any;
  }

  /** The resources a watch should hold now, by name. */
  private wanted(watch: Watch): Map<string, Resource> {
    const out = new Map<string, Resource>();
    if (watch.wildcard) for (const [name, r] of this.resources) out.set(name, r);
    for (const name of watch.names) {
      const r = this.resources.get(name);
      if (r) out.set(name, r);
    }
    return out;
  }

  /** Sends what the client lacks, if anything. */
  private respond(stream: Stream, watch: Watch): void {
    if (!stream.node) return;
    const wanted = this.wanted(watch);
    const carried = new Map<string, string>();
    if (stream.mode === 'sotw') {
      const same =
        watch.responded &&
        wanted.size === watch.held.size &&
        [...wanted].every(([n, r]) => watch.held.get(n) === r.version);
      // Named subscriptions: a configuration that does not exist is not sent until it does, and one
      // removed is not withdrawn (to Envoy, RDS is not a state-of-the-world type). The wildcard gets
      // the whole set once per change, empty included.
      if (same || (!watch.wildcard && wanted.size === 0)) return;
      const resources: XdsAny[] = [];
      for (const [name, r] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        resources.push(this.encoded(r, watch.typeUrl));
        carried.set(name, r.version);
      }
      watch.held.clear();
      for (const [n, v] of carried) watch.held.set(n, v);
      watch.responded = true;
      const nonce = this.sent(stream, watch, carried);
      stream.send({
        version_info: hash([...carried].map(([n, v]) => `${n}=${v}`).join('\n')),
        resources,
        type_url: watch.typeUrl,
        nonce,
      });
      return;
    }
    const resources: DeltaDiscoveryResponse['resources'] = [];
    for (const [name, r] of wanted) {
      if (watch.held.get(name) === r.version) continue;
      resources.push({ name, version: r.version, resource: this.encoded(r, watch.typeUrl) });
      carried.set(name, r.version);
    }
    const removed: string[] = [];
    for (const name of watch.held.keys()) if (!wanted.has(name)) removed.push(name);
    if (resources.length === 0 && removed.length === 0) return;
    for (const [n, v] of carried) watch.held.set(n, v);
    for (const n of removed) {
      watch.held.delete(n);
      if (!watch.names.has(n)) watch.state.delete(n);
      else {
        const s = watch.state.get(n);
        if (s) s.sent = null;
      }
    }
    const nonce = this.sent(stream, watch, carried);
    stream.send({
      system_version_info: '',
      resources,
      type_url: watch.typeUrl,
      removed_resources: removed,
      nonce,
    });
  }

  /** Records a response about to go out; returns its nonce. */
  private sent(stream: Stream, watch: Watch, carried: Map<string, string>): string {
    const nonce = `${stream.id}-${++stream.nonce}`;
    for (const [name, version] of carried) this.stateOf(watch, name).sent = version;
    watch.inFlight.set(nonce, carried);
    if (watch.inFlight.size > MAX_IN_FLIGHT) watch.inFlight.delete(watch.inFlight.keys().next().value!);
    return nonce;
  }
}
