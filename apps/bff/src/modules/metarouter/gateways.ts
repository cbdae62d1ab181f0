/**
 * MetaProtocol through an Istio ingress gateway, as Aeraki does it: a Gateway server whose port is named
 * `tcp-metaprotocol-<protocol>-...` serves the hosts of the MetaRouters that name the Gateway (in
 * `spec.gateways`, `name` or `namespace/name`) and route to that port. For the first such MetaRouter the
 * Gateway gets a VirtualService giving it a TCP listener for the port (istiod builds none without one)
 * and an EnvoyFilter replacing that listener's `tcp_proxy` with a MetaProtocol proxy fetching route
 * configuration `<host>_<port>`, on the gateway's workloads.
 */
import { metaProtocolOfPortName, type MetaRouter } from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import type { PlanProblem } from '../../framework/module';
import {
  MANAGER,
  MANAGER_LABEL,
  TCP_PROXY,
  envoyFilter,
  outboundProxy,
  replacement,
  type RenderOptions,
} from './render';
import type { MetaPort, MetaService } from './services';

interface GatewaySpec {
  selector?: Record<string, string>;
  servers?: { port?: { number?: number; name?: string; protocol?: string } }[];
}

export const gatewayFilterName = (gateway: KubeObject, port: number) =>
  `aeraki-gateway-outbound-${gateway.metadata.name}.${gateway.metadata.namespace ?? 'default'}-${port}`;
export const gatewayVirtualServiceName = (gateway: KubeObject, port: number) =>
  `aeraki-vs-${gateway.metadata.namespace ?? 'default'}.${gateway.metadata.name}-${port}`;

/** Whether a MetaRouter names the Gateway (a bare name is in the MetaRouter's namespace). */
export function namesGateway(router: MetaRouter, gateway: KubeObject): boolean {
  const wanted = `${gateway.metadata.namespace ?? 'default'}/${gateway.metadata.name}`;
  return (router.spec.gateways ?? []).some(
    (g) => (g.includes('/') ? g : `${router.metadata.namespace}/${g}`) === wanted,
  );
}

/** Aeraki takes a MetaRouter for a gateway port only when one of its destinations is on that port. */
const routesToPort = (router: MetaRouter, port: number) =>
  (router.spec.routes ?? []).some((r) => (r.route ?? []).some((d) => d.destination.port?.number === port));

export interface GatewayRender {
  readonly objects: KubeObject[];
  readonly problems: PlanProblem[];
  readonly warnings: string[];
}

/** The VirtualServices and EnvoyFilters a Gateway gets for its MetaProtocol servers. */
export function renderGateway(
  gateway: KubeObject,
  routers: readonly MetaRouter[],
  codecs: ReadonlyMap<string, string>,
  options: RenderOptions,
): GatewayRender {
  const spec = (gateway.spec ?? {}) as GatewaySpec;
  const namespace = gateway.metadata.namespace ?? 'default';
  const objects: KubeObject[] = [];
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  (spec.servers ?? []).forEach((server, i) => {
    const number = server.port?.number;
    const protocol = metaProtocolOfPortName(server.port?.name);
    if (!protocol || number === undefined) return;
    const candidates = routers.filter((r) => namesGateway(r, gateway) && routesToPort(r, number));
    const router = candidates[0];
    if (!router) return;
    if (candidates.length > 1)
      warnings.push(
        `port ${number}: MetaRouters ${candidates.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).join(', ')} all route to it; a gateway port serves one, ${router.metadata.namespace}/${router.metadata.name}`,
      );
    const codec = codecs.get(protocol);
    if (!codec) {
      problems.push({
        path: `spec.servers[${i}].port.name`,
        message: `no ApplicationProtocol for protocol "${protocol}": its codec is unknown`,
      });
      return;
    }
    const host = router.spec.hosts?.[0] ?? '';
    const service: MetaService = {
      kind: 'ServiceEntry',
      namespace,
      name: gateway.metadata.name,
      host,
      hosts: router.spec.hosts ?? [],
      addresses: ['0.0.0.0'],
      addressSource: 'none',
      ports: [],
      workloadLabels: null,
    };
    const port: MetaPort = { number, name: server.port!.name!, protocol };
    const labels = { [MANAGER_LABEL]: MANAGER };
    objects.push({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: gatewayVirtualServiceName(gateway, number), namespace, labels },
      spec: {
        hosts: [host],
        gateways: [`${namespace}/${gateway.metadata.name}`],
        tcp: [{ match: [{ port: number }], route: [{ destination: { host, port: { number } } }] }],
      },
    });
    objects.push(
      envoyFilter(gatewayFilterName(gateway, number), namespace, {
        workloadSelector: { labels: spec.selector ?? {} },
        configPatches: [
          {
            applyTo: 'NETWORK_FILTER',
            match: { listener: { name: `0.0.0.0_${number}`, filterChain: { filter: { name: TCP_PROXY } } } },
            patch: { operation: 'REPLACE', value: replacement(outboundProxy(service, port, codec, options)) },
          },
        ],
      }),
    );
  });
  if (objects.length > 0 && Object.keys(spec.selector ?? {}).length === 0)
    warnings.push('selects no gateway workloads: its EnvoyFilters apply to every proxy of the namespace');
  return { objects, problems, warnings };
}
