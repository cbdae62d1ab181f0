/**
 * The listeners, route configurations and clusters istiod builds for one Pod's proxy, reduced to what
 * EnvoyFilter matching looks at: names, ports, filter chain matches, filter names, virtual hosts and
 * routes. Built from plain Kubernetes and Istio objects (Services, Pods, ServiceEntries,
 * VirtualServices, Gateways, DestinationRule subsets for cluster names), following the naming in
 * istiod's pilot/pkg/networking/core for a default mesh: PERMISSIVE mTLS, ALLOW_ANY outbound, no Sidecar
 * resource, every Service visible everywhere.
 */
import type { ProxyRef } from './explain-types';

export type PatchContextName = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';

/** A Kubernetes or Istio object as read from YAML or JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    /** RFC 3339; istiod prefers the oldest Service where two claim one Pod port. */
    creationTimestamp?: string;
  };
  spec?: unknown;
}

export interface ModelNetworkFilter {
  name: string;
  /** An HTTP connection manager's HTTP filters, in order. */
  httpFilters?: string[];
  /** An HTTP connection manager's route configuration: inline or named over RDS. */
  routeConfiguration?: string;
}

export interface ModelFilterChain {
  /** Envoy's name; '' when istiod leaves it unnamed. */
  name: string;
  match: {
    destinationPort?: number;
    transportProtocol?: string;
    applicationProtocols?: string[];
    serverNames?: string[];
  };
  filters: ModelNetworkFilter[];
}

export interface ModelListener {
  name: string;
  port: number;
  context: PatchContextName;
  listenerFilters: string[];
  filterChains: ModelFilterChain[];
  defaultFilterChain?: ModelFilterChain;
}

export type RouteAction = 'ROUTE' | 'REDIRECT' | 'DIRECT_RESPONSE';

export interface ModelRoute {
  /** Envoy's name; '' when unnamed. */
  name: string;
  action: RouteAction;
}

export interface ModelVirtualHost {
  name: string;
  domains: string[];
  routes: ModelRoute[];
}

export interface ModelRouteConfiguration {
  name: string;
  context: PatchContextName;
  virtualHosts: ModelVirtualHost[];
}

export interface ModelCluster {
  name: string;
  context: PatchContextName;
  /** An inbound cluster's service hostnames, which `match.cluster.service` is compared with. */
  hosts?: string[];
}

export interface ProxyModel {
  proxy: ProxyRef & { type: 'sidecar' | 'gateway'; labels: Record<string, string> };
  listeners: ModelListener[];
  routeConfigurations: ModelRouteConfiguration[];
  clusters: ModelCluster[];
  /** For a gateway: each listener port's Gateway server ports (istiod's GatewayPortMap). */
  gatewayPortMap: Map<number, Set<number>>;
}

export interface ProxyModelOptions {
  /** Force the proxy's type; by default a gateway when a Gateway's selector matches the Pod. */
  gateway?: boolean;
  domainSuffix?: string;
}

const HCM = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY = 'envoy.filters.network.tcp_proxy';
const MX = 'istio.metadata_exchange';
const INBOUND_HTTP_FILTERS = [
  'istio.metadata_exchange',
  'envoy.filters.http.grpc_stats',
  'envoy.filters.http.fault',
  'envoy.filters.http.cors',
  'envoy.filters.http.router',
];
const OUTBOUND_HTTP_FILTERS = [
  'istio.metadata_exchange',
  'envoy.filters.http.grpc_stats',
  'istio.alpn',
  'envoy.filters.http.fault',
  'envoy.filters.http.cors',
  'envoy.filters.http.router',
];
const MTLS_HTTP_ALPN = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const PLAIN_HTTP_ALPN = ['http/1.1', 'h2c'];
const MTLS_TCP_ALPN = ['istio-peer-exchange', 'istio'];

/** What istiod does with a port: an HTTP connection manager, a TCP proxy, or both behind sniffing. */
export type PortProtocol = 'http' | 'tcp' | 'auto';

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'grpc-web', 'http_proxy']);
const TCP_PROTOCOLS = new Set(['tcp', 'https', 'tls', 'mongo', 'redis', 'mysql', 'udp', 'hbone']);
const HTTP_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'kubernetes.io/ws', 'kubernetes.io/wss']);

/**
 * Istio's protocol selection: `appProtocol` first, else the port name's prefix before `-`
 * (`http`, `http2`, `grpc`, `grpc-web`, `tcp`, `tls`, …); anything else is sniffed.
 */
export function portProtocol(port: { name?: string; protocol?: string; appProtocol?: string }): PortProtocol {
  if ((port.protocol ?? 'TCP').toUpperCase() === 'UDP') return 'tcp';
  const classify = (p: string): PortProtocol | undefined => {
    const lower = p.toLowerCase();
    if (HTTP_PROTOCOLS.has(lower) || HTTP_APP_PROTOCOLS.has(lower)) return 'http';
    if (TCP_PROTOCOLS.has(lower)) return 'tcp';
    return undefined;
  };
  if (port.appProtocol) return classify(port.appProtocol) ?? 'auto';
  const name = port.name ?? '';
  const prefix = name.startsWith('grpc-web') ? 'grpc-web' : (name.split('-')[0] ?? '');
  return classify(prefix) ?? 'auto';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const labelsOf = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(rec(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** Orders strings by code unit, as Go compares them (localeCompare would weigh punctuation differently). */
export const byCode = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Every label of `selector` is on `labels` (an empty selector selects everything). */
export const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

const isKind = (o: KubeObject, kind: string, group: string): boolean =>
  o.kind === kind && (o.apiVersion ?? '').split('/')[0] === group;
const nsOf = (o: KubeObject): string => o.metadata?.namespace ?? 'default';
const nameOf = (o: KubeObject): string => o.metadata?.name ?? '';

interface MeshService {
  hostname: string;
  namespace: string;
  created: string;
  /** The Kubernetes Service's name, for short domain names; none for a ServiceEntry. */
  shortName?: string;
  /** The Service's cluster IP, when it has one. */
  address?: string;
  /**
   * A ServiceEntry's `spec.addresses`, each its own TCP listener (istiod makes a service per address); a
   * CIDR's listener is `0.0.0.0`'s.
   */
  addresses?: string[];
  selector?: Record<string, string>;
  ports: { port: number; targetPort: number | string; name?: string; protocol: PortProtocol }[];
}

function meshServices(objects: readonly KubeObject[], suffix: string): MeshService[] {
  const out: MeshService[] = [];
  for (const o of objects) {
    const spec = rec(o.spec);
    if (o.kind === 'Service' && (o.apiVersion ?? '') === 'v1') {
      const ns = nsOf(o);
      const selector = labelsOf(spec.selector);
      out.push({
        hostname: `${nameOf(o)}.${ns}.svc.${suffix}`,
        namespace: ns,
        created: o.metadata?.creationTimestamp ?? '',
        shortName: nameOf(o),
        ...(str(spec.clusterIP) !== undefined && str(spec.clusterIP) !== 'None' && str(spec.clusterIP) !== ''
          ? { address: str(spec.clusterIP) }
          : {}),
        ...(spec.selector !== undefined ? { selector } : {}),
        ports: arr(spec.ports).flatMap((p) => {
          const port = rec(p);
          const number = num(port.port);
          if (number === undefined) return [];
          return [
            {
              port: number,
              targetPort: num(port.targetPort) ?? str(port.targetPort) ?? number,
              ...(str(port.name) !== undefined ? { name: str(port.name) } : {}),
              protocol: portProtocol({
                name: str(port.name),
                protocol: str(port.protocol),
                appProtocol: str(port.appProtocol),
              } as { name?: string; protocol?: string; appProtocol?: string }),
            },
          ];
        }),
      });
    } else if (isKind(o, 'ServiceEntry', 'networking.istio.io')) {
      const ports = arr(spec.ports).flatMap((p) => {
        const port = rec(p);
        const number = num(port.number);
        if (number === undefined) return [];
        const protocol = str(port.protocol)?.toLowerCase();
        return [
          {
            port: number,
            targetPort: num(port.targetPort) ?? number,
            protocol:
              protocol === undefined
                ? 'auto'
                : HTTP_PROTOCOLS.has(protocol)
                  ? 'http'
                  : TCP_PROTOCOLS.has(protocol)
                    ? 'tcp'
                    : 'auto',
          } as MeshService['ports'][number],
        ];
      });
      const addresses = [
        ...new Set(
          arr(spec.addresses).flatMap((a) =>
            typeof a !== 'string' || a === '' ? [] : a.includes('/') ? ['0.0.0.0'] : [a],
          ),
        ),
      ];
      // The workloads a ServiceEntry selects in its namespace get its ports inbound, as a Service's do.
      const selector = labelsOf(rec(spec.workloadSelector).labels);
      for (const host of arr(spec.hosts)) {
        if (typeof host === 'string')
          out.push({
            hostname: host,
            namespace: nsOf(o),
            created: o.metadata?.creationTimestamp ?? '',
            ...(addresses.length > 0 ? { addresses } : {}),
            ...(Object.keys(selector).length > 0 ? { selector } : {}),
            ports,
          });
      }
    }
  }
  // Oldest first, then by name: the order in which istiod lets a Service claim a Pod port.
  return out.sort(
    (a, b) =>
      byCode(a.created, b.created) || byCode(a.hostname, b.hostname) || byCode(a.namespace, b.namespace),
  );
}

interface HttpRouteSpec {
  name?: string;
  match?: { name?: string; port?: number; gateways?: string[] }[];
  redirect?: unknown;
  directResponse?: unknown;
}

interface VirtualServiceSpec {
  /** `namespace/name` */
  ref: string;
  namespace: string;
  hosts: string[];
  /** Gateways as `namespace/name`, and `mesh`. */
  gateways: string[];
  http: HttpRouteSpec[];
}

function virtualServices(objects: readonly KubeObject[]): VirtualServiceSpec[] {
  return objects
    .filter((o) => isKind(o, 'VirtualService', 'networking.istio.io'))
    .sort((a, b) => byCode(nsOf(a), nsOf(b)) || byCode(nameOf(a), nameOf(b)))
    .map((o) => {
      const spec = rec(o.spec);
      const ns = nsOf(o);
      const gateways = arr(spec.gateways).filter((g): g is string => typeof g === 'string');
      return {
        ref: `${ns}/${nameOf(o)}`,
        namespace: ns,
        hosts: arr(spec.hosts).filter((h): h is string => typeof h === 'string'),
        gateways: (gateways.length === 0 ? ['mesh'] : gateways).map((g) =>
          g === 'mesh' || g.includes('/') ? g : `${ns}/${g}`,
        ),
        http: arr(spec.http).map((h) => h as HttpRouteSpec),
      };
    });
}

/** The routes istiod builds from a VirtualService's `http` for a listener port: one per match. */
function vsRoutes(vs: VirtualServiceSpec, port: number, gateway: string): ModelRoute[] {
  const routes: ModelRoute[] = [];
  for (const h of vs.http) {
    const action: RouteAction =
      h.redirect !== undefined ? 'REDIRECT' : h.directResponse !== undefined ? 'DIRECT_RESPONSE' : 'ROUTE';
    const matches = h.match === undefined || h.match.length === 0 ? [undefined] : h.match;
    for (const m of matches) {
      if (m?.port !== undefined && m.port !== port) continue;
      if (m?.gateways !== undefined && m.gateways.length > 0) {
        const gws = m.gateways.map((g) => (g === 'mesh' || g.includes('/') ? g : `${vs.namespace}/${g}`));
        if (!gws.includes(gateway)) continue;
      }
      const name = (h.name ?? '') + (m?.name ? `.${m.name}` : '');
      routes.push({ name, action });
    }
  }
  return routes;
}

/** A host `h` of a VirtualService resolved to the service it names, as istiod resolves short names. */
function resolvesTo(h: string, vsNamespace: string, service: MeshService, suffix: string): boolean {
  if (h === service.hostname) return true;
  if (h.includes('*')) return hostMatches(h, service.hostname);
  if (service.shortName === undefined) return false;
  return !h.includes('.') && `${h}.${vsNamespace}.svc.${suffix}` === service.hostname;
}

/** `pattern` (possibly `*` or `*.suffix`) covers `host`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  if (host.startsWith('*.')) return pattern.endsWith(host.slice(1));
  return pattern === host;
}

function findPod(objects: readonly KubeObject[], ref: ProxyRef): KubeObject {
  const pod = objects.find((o) => o.kind === 'Pod' && nsOf(o) === ref.namespace && nameOf(o) === ref.name);
  if (pod === undefined) throw new Error(`no Pod ${ref.namespace}/${ref.name}`);
  return pod;
}

/** Gateways (`namespace/name`) whose selector matches the labels, with their servers. */
function gatewaysFor(objects: readonly KubeObject[], labels: Record<string, string>) {
  return objects
    .filter((o) => isKind(o, 'Gateway', 'networking.istio.io'))
    .filter((o) => {
      const selector = labelsOf(rec(o.spec).selector);
      return Object.keys(selector).length > 0 && selects(selector, labels);
    })
    .sort((a, b) => byCode(nsOf(a), nsOf(b)) || byCode(nameOf(a), nameOf(b)))
    .map((o) => ({
      ref: `${nsOf(o)}/${nameOf(o)}`,
      namespace: nsOf(o),
      servers: arr(rec(o.spec).servers).map((s) => {
        const server = rec(s);
        const port = rec(server.port);
        return {
          port: num(port.number) ?? 0,
          portName: str(port.name) ?? '',
          protocol: (str(port.protocol) ?? '').toUpperCase(),
          hosts: arr(server.hosts).filter((h): h is string => typeof h === 'string'),
          tlsMode: str(rec(server.tls).mode),
        };
      }),
    }));
}

/** Whether istiod treats the Pod as a gateway: some Gateway's selector matches its labels. */
export function isGatewayPod(objects: readonly KubeObject[], pod: ProxyRef): boolean {
  return gatewaysFor(objects, labelsOf(findPod(objects, pod).metadata?.labels)).length > 0;
}

const chain = (
  name: string,
  match: ModelFilterChain['match'],
  filters: ModelNetworkFilter[],
): ModelFilterChain => ({ name, match, filters });
const hcm = (httpFilters: string[], routeConfiguration: string): ModelNetworkFilter => ({
  name: HCM,
  httpFilters: [...httpFilters],
  routeConfiguration,
});
const tcp: ModelNetworkFilter = { name: TCP_PROXY };
const mx: ModelNetworkFilter = { name: MX };

export function buildProxyModel(
  objects: readonly KubeObject[],
  ref: ProxyRef,
  options: ProxyModelOptions = {},
): ProxyModel {
  const suffix = options.domainSuffix ?? 'cluster.local';
  const pod = findPod(objects, ref);
  const labels = labelsOf(pod.metadata?.labels);
  const gateways = gatewaysFor(objects, labels);
  const type = (options.gateway ?? gateways.length > 0) ? 'gateway' : 'sidecar';
  const services = meshServices(objects, suffix);
  const vss = virtualServices(objects);
  const model: ProxyModel = {
    proxy: { namespace: ref.namespace, name: ref.name, type, labels },
    listeners: [],
    routeConfigurations: [],
    clusters: [],
    gatewayPortMap: new Map(),
  };
  const outboundContext: PatchContextName = type === 'gateway' ? 'GATEWAY' : 'SIDECAR_OUTBOUND';
  model.clusters.push(...outboundClusters(objects, services, outboundContext));

  if (type === 'gateway') {
    buildGateway(model, gateways, services, vss, pod, suffix);
    model.clusters.push({ name: 'BlackHoleCluster', context: 'GATEWAY' });
    return model;
  }

  buildInbound(model, services, pod);
  buildOutbound(model, services, vss, ref.namespace, suffix);
  model.clusters.push(
    { name: 'BlackHoleCluster', context: 'SIDECAR_OUTBOUND' },
    { name: 'PassthroughCluster', context: 'SIDECAR_OUTBOUND' },
    { name: 'InboundPassthroughCluster', context: 'SIDECAR_INBOUND' },
  );
  return model;
}

function outboundClusters(
  objects: readonly KubeObject[],
  services: MeshService[],
  context: PatchContextName,
): ModelCluster[] {
  const subsets = new Map<string, string[]>();
  for (const o of objects) {
    if (!isKind(o, 'DestinationRule', 'networking.istio.io')) continue;
    const spec = rec(o.spec);
    const host = str(spec.host);
    if (host === undefined) continue;
    const names = arr(spec.subsets).flatMap((s) => str(rec(s).name) ?? []);
    const full = host.includes('.') ? host : `${host}.${nsOf(o)}.svc.cluster.local`;
    subsets.set(full, [...(subsets.get(full) ?? []), ...names]);
  }
  return services.flatMap((s) =>
    s.ports.flatMap((p) =>
      ['', ...(subsets.get(s.hostname) ?? [])].map((subset) => ({
        name: `outbound|${p.port}|${subset}|${s.hostname}`,
        context,
      })),
    ),
  );
}

function containerPort(pod: KubeObject, name: string): number | undefined {
  for (const c of arr(rec(pod.spec).containers))
    for (const p of arr(rec(c).ports)) if (str(rec(p).name) === name) return num(rec(p).containerPort);
  return undefined;
}

function buildInbound(model: ProxyModel, services: MeshService[], pod: KubeObject): void {
  const labels = model.proxy.labels;
  const ns = model.proxy.namespace;
  const inbound: ModelListener = {
    name: 'virtualInbound',
    port: 15006,
    context: 'SIDECAR_INBOUND',
    listenerFilters: [
      'envoy.filters.listener.original_dst',
      'envoy.filters.listener.tls_inspector',
      'envoy.filters.listener.http_inspector',
    ],
    filterChains: [],
  };
  const passthroughRc = 'InboundPassthroughCluster';
  inbound.filterChains.push(
    chain('virtualInbound-blackhole', { destinationPort: 15006 }, [mx, tcp]),
    chain(
      'virtualInbound-catchall-http',
      { transportProtocol: 'tls', applicationProtocols: MTLS_HTTP_ALPN },
      [mx, hcm(INBOUND_HTTP_FILTERS, passthroughRc)],
    ),
    chain(
      'virtualInbound-catchall-http',
      { transportProtocol: 'raw_buffer', applicationProtocols: PLAIN_HTTP_ALPN },
      [mx, hcm(INBOUND_HTTP_FILTERS, passthroughRc)],
    ),
    chain('virtualInbound', { transportProtocol: 'tls', applicationProtocols: MTLS_TCP_ALPN }, [mx, tcp]),
    chain('virtualInbound', { transportProtocol: 'raw_buffer' }, [mx, tcp]),
    chain('virtualInbound', { transportProtocol: 'tls' }, [mx, tcp]),
  );
  model.routeConfigurations.push({
    name: passthroughRc,
    context: 'SIDECAR_INBOUND',
    virtualHosts: [
      { name: 'inbound|http|0', domains: ['*'], routes: [{ name: 'default', action: 'ROUTE' }] },
    ],
  });

  // One chain set per target port; the first Service (oldest, here by name) wins a shared port.
  const seen = new Set<number>();
  // istiod orders the service ports' chains by port, after the passthrough ones.
  const portChains: ModelFilterChain[] = [];
  for (const s of services) {
    if (s.namespace !== ns || s.selector === undefined || Object.keys(s.selector).length === 0) continue;
    if (!selects(s.selector, labels)) continue;
    for (const p of s.ports) {
      const target = typeof p.targetPort === 'number' ? p.targetPort : containerPort(pod, p.targetPort);
      if (target === undefined || seen.has(target)) continue;
      seen.add(target);
      const name = `0.0.0.0_${target}`;
      const rc = `inbound|${target}||`;
      const httpChains = [
        chain(
          name,
          {
            destinationPort: target,
            transportProtocol: 'tls',
            applicationProtocols:
              p.protocol === 'http' ? ['istio', 'istio-peer-exchange', ...MTLS_HTTP_ALPN] : MTLS_HTTP_ALPN,
          },
          [mx, hcm(INBOUND_HTTP_FILTERS, rc)],
        ),
        chain(
          name,
          p.protocol === 'http'
            ? { destinationPort: target, transportProtocol: 'raw_buffer' }
            : {
                destinationPort: target,
                transportProtocol: 'raw_buffer',
                applicationProtocols: PLAIN_HTTP_ALPN,
              },
          [mx, hcm(INBOUND_HTTP_FILTERS, rc)],
        ),
      ];
      const tcpChains = [
        chain(
          name,
          { destinationPort: target, transportProtocol: 'tls', applicationProtocols: MTLS_TCP_ALPN },
          [mx, tcp],
        ),
        chain(name, { destinationPort: target, transportProtocol: 'raw_buffer' }, [mx, tcp]),
        chain(name, { destinationPort: target, transportProtocol: 'tls' }, [mx, tcp]),
      ];
      if (p.protocol === 'http') portChains.push(...httpChains);
      else if (p.protocol === 'auto') portChains.push(...httpChains, ...tcpChains);
      else
        portChains.push(
          chain(
            name,
            {
              destinationPort: target,
              transportProtocol: 'tls',
              applicationProtocols: ['istio', 'istio-peer-exchange', ...MTLS_HTTP_ALPN],
            },
            [mx, tcp],
          ),
          tcpChains[2]!,
          tcpChains[1]!,
        );
      if (p.protocol !== 'tcp')
        model.routeConfigurations.push({
          name: rc,
          context: 'SIDECAR_INBOUND',
          virtualHosts: [
            {
              name: `inbound|http|${p.port}`,
              domains: ['*'],
              routes: [{ name: 'default', action: 'ROUTE' }],
            },
          ],
        });
      model.clusters.push({ name: rc, context: 'SIDECAR_INBOUND', hosts: [] });
    }
  }
  inbound.filterChains.push(
    ...portChains.sort((a, b) => (a.match.destinationPort ?? 0) - (b.match.destinationPort ?? 0)),
  );
  // An inbound cluster serves every Service that targets its port, not only the one that named the chain.
  for (const s of services) {
    if (s.namespace !== ns || s.selector === undefined || Object.keys(s.selector).length === 0) continue;
    if (!selects(s.selector, labels)) continue;
    for (const p of s.ports) {
      const target = typeof p.targetPort === 'number' ? p.targetPort : containerPort(pod, p.targetPort);
      const cluster = model.clusters.find((c) => c.name === `inbound|${target}||`);
      if (cluster?.hosts !== undefined && !cluster.hosts.includes(s.hostname)) cluster.hosts.push(s.hostname);
    }
  }
  model.listeners.push(inbound);
}

/** The domains istiod gives a service's outbound virtual host, seen from a proxy in `proxyNamespace`. */
function serviceDomains(s: MeshService, proxyNamespace: string, suffix: string): string[] {
  if (s.shortName === undefined)
    return s.hostname.startsWith('*') ? [s.hostname] : [s.hostname, `${s.hostname}.`];
  const base = `${s.shortName}.${s.namespace}`;
  return [
    s.hostname,
    `${s.hostname}.`,
    ...(s.namespace === proxyNamespace ? [s.shortName] : []),
    `${base}.svc`,
    base,
    ...(s.address !== undefined ? [s.address] : []),
  ].filter((d, i, all) => all.indexOf(d) === i && (d !== `${base}.svc` || suffix !== ''));
}

function buildOutbound(
  model: ProxyModel,
  services: MeshService[],
  vss: VirtualServiceSpec[],
  proxyNamespace: string,
  suffix: string,
): void {
  const byPort = new Map<number, { service: MeshService; protocol: PortProtocol }[]>();
  const tcpListeners = new Map<string, number>();
  for (const s of services)
    for (const p of s.ports) {
      if (p.protocol === 'tcp') {
        // A TCP port gets a listener per Service address; a Service without one shares 0.0.0.0.
        for (const address of s.addresses ?? [s.address ?? '0.0.0.0'])
          tcpListeners.set(`${address}_${p.port}`, p.port);
        continue;
      }
      byPort.set(p.port, [...(byPort.get(p.port) ?? []), { service: s, protocol: p.protocol }]);
    }
  for (const [name, port] of [...tcpListeners].sort(([a], [b]) => byCode(a, b))) {
    if (name === `0.0.0.0_${port}` && byPort.has(port)) continue;
    model.listeners.push({
      name,
      port,
      context: 'SIDECAR_OUTBOUND',
      listenerFilters: [],
      filterChains: [chain('', {}, [tcp])],
    });
  }
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const entries = byPort.get(port)!;
    const auto = entries.some((e) => e.protocol === 'auto');
    const listener: ModelListener = {
      name: `0.0.0.0_${port}`,
      port,
      context: 'SIDECAR_OUTBOUND',
      listenerFilters: ['envoy.filters.listener.http_inspector'],
      filterChains: [
        chain('', { transportProtocol: 'raw_buffer', applicationProtocols: PLAIN_HTTP_ALPN }, [
          hcm(OUTBOUND_HTTP_FILTERS, String(port)),
        ]),
      ],
      defaultFilterChain: chain(auto ? '' : 'PassthroughFilterChain', {}, [tcp]),
    };
    model.listeners.push(listener);
    const virtualHosts: ModelVirtualHost[] = entries.map(({ service }) => {
      const vs = vss.find(
        (v) =>
          v.gateways.includes('mesh') && v.hosts.some((h) => resolvesTo(h, v.namespace, service, suffix)),
      );
      return {
        name: `${service.hostname}:${port}`,
        domains: serviceDomains(service, proxyNamespace, suffix),
        routes: vs === undefined ? [{ name: 'default', action: 'ROUTE' }] : vsRoutes(vs, port, 'mesh'),
      };
    });
    // A VirtualService's hosts that are no service on this port get virtual hosts of their own: beside
    // its services' on their ports, or, when it has none here, on port 80 only (istiod's special case).
    for (const vs of vss) {
      if (!vs.gateways.includes('mesh')) continue;
      const onPort = entries.filter(({ service }) =>
        vs.hosts.some((h) => resolvesTo(h, vs.namespace, service, suffix)),
      );
      if (onPort.length === 0 && port !== 80) continue;
      const routes = vsRoutes(vs, port, 'mesh');
      if (routes.length === 0) continue;
      for (const h of vs.hosts) {
        if (h.includes('*') || onPort.some(({ service }) => resolvesTo(h, vs.namespace, service, suffix)))
          continue;
        const full = h.includes('.') ? h : `${h}.${vs.namespace}.svc.${suffix}`;
        const name = `${full}:${port}`;
        if (!virtualHosts.some((v) => v.name === name)) virtualHosts.push({ name, domains: [full], routes });
      }
    }
    virtualHosts.push({
      name: 'allow_any',
      domains: ['*'],
      routes: [{ name: 'allow_any', action: 'ROUTE' }],
    });
    model.routeConfigurations.push({ name: String(port), context: 'SIDECAR_OUTBOUND', virtualHosts });
  }
  model.listeners.push({
    name: 'virtualOutbound',
    port: 15001,
    context: 'SIDECAR_OUTBOUND',
    listenerFilters: [],
    filterChains: [
      chain('virtualOutbound-blackhole', { destinationPort: 15001 }, [tcp]),
      chain('virtualOutbound-catchall-tcp', {}, [tcp]),
    ],
  });
}

function buildGateway(
  model: ProxyModel,
  gateways: ReturnType<typeof gatewaysFor>,
  services: MeshService[],
  vss: VirtualServiceSpec[],
  pod: KubeObject,
  suffix: string,
): void {
  // A Service in front of the gateway maps its ports to the Pod's: istiod listens on the target port.
  const podLabels = model.proxy.labels;
  const targetOf = (port: number): number => {
    for (const s of services) {
      if (s.namespace !== nsOf(pod) || s.selector === undefined || !selects(s.selector, podLabels)) continue;
      const p = s.ports.find((x) => x.port === port);
      if (p !== undefined && typeof p.targetPort === 'number') return p.targetPort;
    }
    return port;
  };
  const byPort = new Map<
    number,
    { gateway: (typeof gateways)[number]; server: (typeof gateways)[number]['servers'][number] }[]
  >();
  for (const gateway of gateways)
    for (const server of gateway.servers) {
      const port = targetOf(server.port);
      byPort.set(port, [...(byPort.get(port) ?? []), { gateway, server }]);
    }
  // An empty route configuration gets a 404 virtual host named by its first server's port.
  const firstServerPort = new Map<string, number>();
  // Per route configuration, its virtual hosts by hostname and the VirtualServices (through which
  // Gateway) their routes come from.
  const vhostsOf = new Map<string, Map<string, { vh: ModelVirtualHost; sources: string[] }>>();
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const listener: ModelListener = {
      name: `0.0.0.0_${port}`,
      port,
      context: 'GATEWAY',
      listenerFilters: [],
      filterChains: [],
    };
    for (const { gateway, server } of byPort.get(port)!) {
      const http = ['HTTP', 'HTTP2', 'GRPC'].includes(server.protocol);
      const terminated = server.protocol === 'HTTPS' && server.tlsMode !== 'PASSTHROUGH';
      if (!http && !terminated) {
        listener.filterChains.push(chain('', {}, [tcp]));
        continue;
      }
      const [gwNs, gwName] = gateway.ref.split('/') as [string, string];
      // HTTP servers share `http.<listener port>`; a terminating HTTPS server has one of its own.
      const rcName = http ? `http.${port}` : `https.${server.port}.${server.portName}.${gwName}.${gwNs}`;
      const rcPort = http ? port : server.port;
      model.gatewayPortMap.set(rcPort, (model.gatewayPortMap.get(rcPort) ?? new Set()).add(server.port));
      if (!firstServerPort.has(rcName)) firstServerPort.set(rcName, server.port);
      const existing = listener.filterChains.find((c) => c.filters[0]?.routeConfiguration === rcName);
      if (existing === undefined)
        listener.filterChains.push(
          chain('', terminated ? { serverNames: server.hosts.map((h) => h.split('/').pop()!) } : {}, [
            hcm(OUTBOUND_HTTP_FILTERS, rcName),
          ]),
        );
      if (!model.routeConfigurations.some((r) => r.name === rcName))
        model.routeConfigurations.push({ name: rcName, context: 'GATEWAY', virtualHosts: [] });
      for (const vs of vss) {
        if (!vs.gateways.includes(gateway.ref)) continue;
        const serverHosts = server.hosts.map((h) => {
          const [ns, host] = h.includes('/') ? (h.split('/') as [string, string]) : ['*', h];
          return { ns, host };
        });
        for (const h of vs.hosts) {
          const full = h.includes('.') || h === '*' ? h : `${h}.${vs.namespace}.svc.${suffix}`;
          const covering = serverHosts.find(
            (s) => (s.ns === '*' || s.ns === '.' || s.ns === vs.namespace) && hostMatches(s.host, full),
          );
          if (covering === undefined) continue;
          // The more specific of the two hosts names the virtual host.
          const hostname = (
            full.startsWith('*') && !covering.host.startsWith('*') ? covering.host : full
          ).toLowerCase();
          const routes = vsRoutes(vs, server.port, gateway.ref);
          const key = `${gateway.ref}|${vs.ref}`;
          const hosts = (vhostsOf.get(rcName) ?? new Map()).set(
            hostname,
            vhostsOf.get(rcName)?.get(hostname) ?? {
              vh: { name: `${hostname}:${server.port}`, domains: [hostname], routes: [] },
              sources: [],
            },
          );
          vhostsOf.set(rcName, hosts);
          const entry = hosts.get(hostname)!;
          // A host another server on this port already has: its routes are appended.
          entry.vh.routes.push(...routes);
          entry.sources.push(key);
        }
      }
    }
    model.listeners.push(listener);
  }
  // istiod merges virtual hosts whose routes are the very same (one VirtualService through one Gateway)
  // into the alphabetically first, whose name stays.
  for (const [rcName, hosts] of vhostsOf) {
    const rc = model.routeConfigurations.find((r) => r.name === rcName)!;
    const primary = new Map<string, ModelVirtualHost>();
    for (const hostname of [...hosts.keys()].sort()) {
      const { vh, sources } = hosts.get(hostname)!;
      const key = sources.join('\u0000');
      const into = primary.get(key);
      if (into !== undefined) into.domains.push(...vh.domains);
      else {
        primary.set(key, vh);
        rc.virtualHosts.push(vh);
      }
    }
  }
  for (const rc of model.routeConfigurations)
    if (rc.context === 'GATEWAY' && rc.virtualHosts.length === 0)
      rc.virtualHosts.push({ name: `blackhole:${firstServerPort.get(rc.name)}`, domains: ['*'], routes: [] });
}
