/**
 * The metarouter module's companion controllers: Services and ServiceEntries with MetaProtocol ports each
 * own Aeraki's EnvoyFilters for their ports; Gateways with MetaProtocol servers own a VirtualService and an
 * EnvoyFilter per port a MetaRouter routes to.
 */
import type { KubeObject } from '../../cluster/store';
import { keyOf } from '../../cluster/store';
import { statuslessModule, type Module, type Plan } from '../../framework/module';
import { renderGateway } from './gateways';
import { renderService, type RenderOptions } from './render';
import { routerFor } from './routes';
import { codecs, metaServiceOf, metaServices, routerKey, routersByHost, type MetaService } from './services';

export const SERVICE_MODULE_NAME = 'metarouter-service';
export const SERVICEENTRY_MODULE_NAME = 'metarouter-serviceentry';
export const GATEWAY_MODULE_NAME = 'metarouter-gateway';

/**
 * Services without an address share Istio's `0.0.0.0_<port>` listener, whose one `tcp_proxy` only the first
 * outbound EnvoyFilter replaces: every call on that port then takes that service's routes (istiod's
 * behaviour, which Aeraki leaves unsaid).
 */
export function sharedListenerWarnings(service: MetaService, all: readonly MetaService[]): string[] {
  if (!service.addresses.includes('0.0.0.0')) return [];
  return service.ports.flatMap((port) => {
    const others = all.filter(
      (s) =>
        s !== service &&
        !(s.kind === service.kind && s.namespace === service.namespace && s.name === service.name) &&
        s.addresses.includes('0.0.0.0') &&
        s.ports.some((p) => p.number === port.number),
    );
    return others.length === 0
      ? []
      : [
          `shares listener 0.0.0.0_${port.number} with ${others.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}: istiod keeps one tcp_proxy there, so only one of their outbound EnvoyFilters applies and every call on port ${port.number} takes that service's routes; give each an address`,
        ];
  });
}

/**
 * The hosts a MetaRouter names now and named at the last change seen: a change concerns the services (and
 * rival MetaRouters) of both. Each controller keeps its own memory, as each sees every change.
 */
export function hostsMemory(): (change: KubeObject) => Set<string> {
  const last = new Map<string, readonly string[]>();
  return (change) => {
    const key = keyOf(change);
    const spec = change.spec as { hosts?: unknown } | undefined;
    const now = Array.isArray(spec?.hosts)
      ? spec.hosts.filter((h): h is string => typeof h === 'string')
      : [];
    const hosts = new Set([...now, ...(last.get(key) ?? [])]);
    if (change.metadata.deletionTimestamp) last.delete(key);
    else last.set(key, now);
    return hosts;
  };
}

export function serviceModule(
  kind: 'Service' | 'ServiceEntry',
  name: string,
  apiVersion: string,
  options: RenderOptions,
): Module<MetaService | null, null> {
  const routerHosts = hostsMemory();
  return statuslessModule({
    name,
    kind,
    apiVersion,
    watches: ['MetaRouter', 'ApplicationProtocol'],
    owns: ['EnvoyFilter'],
    parse: (raw) => ({ ok: true, value: metaServiceOf(raw) }),
    plan: ({ object, snapshot }): Plan<null> => {
      if (!object) return { desired: [], status: {}, problems: [], engine: null };
      const r = renderService(object, routerFor(object, routersByHost(snapshot)), codecs(snapshot), options);
      r.warnings.push(...sharedListenerWarnings(object, metaServices(snapshot)));
      return {
        desired: r.envoyFilters,
        status: {},
        problems: r.problems,
        warnings: r.warnings,
        engine: null,
      };
    },
    affectedBy: (change, snapshot) => {
      const services = metaServices(snapshot).filter((s) => s.kind === kind);
      const keys = (list: readonly MetaService[]) => list.map((s) => `${s.namespace}/${s.name}`);
      if (change.kind === 'ApplicationProtocol') {
        const protocol = (change.spec as { protocol?: unknown } | undefined)?.protocol;
        return keys(services.filter((s) => s.ports.some((p) => p.protocol === protocol)));
      }
      const hosts = routerHosts(change);
      return keys(services.filter((s) => hosts.has(s.host)));
    },
  });
}

/** Gateways with MetaProtocol servers: a VirtualService and an EnvoyFilter per port a MetaRouter routes to. */
export function gatewayModule(options: RenderOptions): Module<KubeObject, null> {
  return statuslessModule({
    name: GATEWAY_MODULE_NAME,
    kind: 'Gateway',
    apiVersion: 'networking.istio.io/v1beta1',
    watches: ['MetaRouter', 'ApplicationProtocol'],
    owns: ['EnvoyFilter', 'VirtualService'],
    parse: (raw) => ({ ok: true, value: raw }),
    plan: ({ object, snapshot }): Plan<null> => {
      // Each MetaRouter is indexed once, by its first host.
      const routers = [...routersByHost(snapshot).values()]
        .flat()
        .sort((a, b) => (routerKey(a) < routerKey(b) ? -1 : 1));
      const r = renderGateway(object, routers, codecs(snapshot), options);
      return { desired: r.objects, status: {}, problems: r.problems, warnings: r.warnings, engine: null };
    },
    // Gateways are few: any MetaRouter or protocol change re-plans them all.
    affectedBy: (_change, snapshot) => snapshot.list('Gateway').map((g) => keyOf(g)),
  });
}
