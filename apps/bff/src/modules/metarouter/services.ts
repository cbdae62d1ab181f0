/**
 * MetaProtocol services as Aeraki sees them: Kubernetes Services and Istio ServiceEntries with a port named
 * `tcp-metaprotocol-<protocol>-...`, each read into one shape (hosts, addresses, ports, the workloads
 * behind it), and the MetaRouter that governs each.
 */
import {
  METAROUTER_KIND,
  metaProtocolOfPortName,
  metaRouterSchema,
  applicationProtocolSchema,
  type MetaRouter,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import type { Snapshot } from '../../framework/module';

export interface MetaPort {
  readonly number: number;
  readonly name: string;
  /** The application protocol the port name declares (`thrift`). */
  readonly protocol: string;
}

export interface MetaService {
  readonly kind: 'Service' | 'ServiceEntry';
  readonly namespace: string;
  readonly name: string;
  /** Aeraki uses the first host only. */
  readonly host: string;
  readonly hosts: readonly string[];
  /**
   * The addresses its outbound listeners are named after: a Service's cluster IP; a ServiceEntry's
   * `spec.addresses`, else the addresses Istio allocated (`status.addresses`); else `0.0.0.0`, Istio's
   * listener for a TCP port without a virtual IP.
   */
  readonly addresses: readonly string[];
  readonly addressSource: 'spec' | 'status' | 'none';
  readonly ports: readonly MetaPort[];
  /** The labels of the workloads behind it; none: the inbound side cannot be selected. */
  readonly workloadLabels: Readonly<Record<string, string>> | null;
}

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
const labels = (v: unknown): Record<string, string> | null => {
  const entries = Object.entries(rec(v)).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : null;
};

export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';

/** Aeraki's fallback for a ServiceEntry without a selector: `workloadSelector: app` or `key:value`. */
function annotatedSelector(annotations: Record<string, string> | undefined): Record<string, string> | null {
  const text = (annotations?.workloadSelector ?? '').replaceAll(' ', '');
  if (text === '') return null;
  const parts = text.split(':');
  if (parts.length === 1) return { app: text };
  if (parts.length === 2 && parts[0] && parts[1]) return { [parts[0]]: parts[1] };
  return null;
}

/** The MetaProtocol ports of a port list, each numbered by its field `numberField`. */
function metaPortsOf(list: unknown, numberField: 'port' | 'number'): MetaPort[] {
  return (Array.isArray(list) ? list : []).flatMap((p): MetaPort[] => {
    const port = rec(p);
    const protocol = metaProtocolOfPortName(port.name as string | undefined);
    const number = port[numberField];
    return protocol && typeof number === 'number' ? [{ number, name: port.name as string, protocol }] : [];
  });
}

/** The object as a MetaProtocol service, or null when no port of it is a MetaProtocol one. */
export function metaServiceOf(o: KubeObject, suffix = DEFAULT_DOMAIN_SUFFIX): MetaService | null {
  const spec = rec(o.spec);
  const namespace = o.metadata.namespace ?? 'default';
  const name = o.metadata.name;
  if (o.kind === 'Service') {
    const ports = metaPortsOf(spec.ports, 'port');
    if (ports.length === 0) return null;
    const ip = typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None' ? spec.clusterIP : '';
    const host = `${name}.${namespace}.svc.${suffix}`;
    return {
      kind: 'Service',
      namespace,
      name,
      host,
      hosts: [host],
      addresses: ip ? [ip] : ['0.0.0.0'],
      addressSource: ip ? 'spec' : 'none',
      ports,
      workloadLabels: labels(spec.selector),
    };
  }
  if (o.kind === 'ServiceEntry') {
    const ports = metaPortsOf(spec.ports, 'number');
    const hosts = strings(spec.hosts);
    if (ports.length === 0 || hosts.length === 0) return null;
    const specAddresses = strings(spec.addresses);
    const statusAddresses = (
      Array.isArray(rec(o.status).addresses) ? (rec(o.status).addresses as unknown[]) : []
    )
      .map((a) => rec(a).value)
      .filter((v): v is string => typeof v === 'string' && v !== '');
    // A CIDR range has no listener of its own: Istio matches it on 0.0.0.0_<port>'s filter chains.
    const listed = specAddresses.length > 0 ? specAddresses : statusAddresses;
    const addresses = [...new Set(listed.map((a) => (a.includes('/') ? '0.0.0.0' : a)))];
    return {
      kind: 'ServiceEntry',
      namespace,
      name,
      host: hosts[0]!,
      hosts,
      addresses: addresses.length > 0 ? addresses : ['0.0.0.0'],
      addressSource: specAddresses.length > 0 ? 'spec' : statusAddresses.length > 0 ? 'status' : 'none',
      ports,
      workloadLabels:
        labels(rec(spec.workloadSelector).labels) ?? annotatedSelector(o.metadata.annotations ?? undefined),
    };
  }
  return null;
}

/**
 * A value computed from a list of objects, kept while the list holds the same objects (informers replace an
 * object when it changes): plans of many objects read one index rather than each building its own.
 */
class ObjectsMemo<T> {
  private inputs: readonly KubeObject[] = [];
  private value: T | undefined;

  get(objects: readonly KubeObject[], compute: () => T): T {
    const same =
      this.value !== undefined &&
      objects.length === this.inputs.length &&
      objects.every((o, i) => o === this.inputs[i]);
    if (!same) {
      this.value = compute();
      this.inputs = [...objects];
    }
    return this.value!;
  }
}

const servicesMemo = new WeakMap<Snapshot, ObjectsMemo<MetaService[]>>();

/** Every MetaProtocol service in the snapshot, Services first, each group by namespace and name. */
export function metaServices(snapshot: Snapshot): MetaService[] {
  const objects = [...snapshot.list('Service'), ...snapshot.list('ServiceEntry')];
  let memo = servicesMemo.get(snapshot);
  if (!memo) servicesMemo.set(snapshot, (memo = new ObjectsMemo()));
  return memo.get(objects, () =>
    (['Service', 'ServiceEntry'] as const).flatMap((kind) =>
      snapshot
        .list(kind)
        .map((o) => metaServiceOf(o))
        .filter((s): s is MetaService => s !== null)
        .sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1)),
    ),
  );
}

/** The codec of each application protocol, from the cluster's ApplicationProtocols. */
export function codecs(snapshot: Snapshot): Map<string, string> {
  return new Map(
    snapshot
      .parsed('ApplicationProtocol', applicationProtocolSchema)
      .map((p) => [p.spec.protocol, p.spec.codec]),
  );
}

export const routerKey = (r: MetaRouter): string => `${r.metadata.namespace}/${r.metadata.name}`;

/** The order in which MetaRouters of one host are chosen: the oldest, then by namespace and name. */
function routerOrder(a: MetaRouter, b: MetaRouter): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return routerKey(a) < routerKey(b) ? -1 : routerKey(a) > routerKey(b) ? 1 : 0;
}

/**
 * The MetaRouters for each host (their first host, as Aeraki reads it), the chosen one first. Aeraki takes
 * whichever its client lists first; Governor takes the oldest and says so in both statuses.
 */
/** The hosts a Service or ServiceEntry answers for (whatever its ports). */
export function hostsOf(o: KubeObject, suffix = DEFAULT_DOMAIN_SUFFIX): string[] {
  if (o.kind === 'Service') return [`${o.metadata.name}.${o.metadata.namespace ?? 'default'}.svc.${suffix}`];
  return strings(rec(o.spec).hosts);
}

export function routersByHost(snapshot: Snapshot): Map<string, MetaRouter[]> {
  let memo = routersMemo.get(snapshot);
  if (!memo) routersMemo.set(snapshot, (memo = new ObjectsMemo()));
  return memo.get(snapshot.list(METAROUTER_KIND), () => indexRouters(snapshot));
}

const routersMemo = new WeakMap<Snapshot, ObjectsMemo<Map<string, MetaRouter[]>>>();

function indexRouters(snapshot: Snapshot): Map<string, MetaRouter[]> {
  const out = new Map<string, MetaRouter[]>();
  for (const r of snapshot.parsed(METAROUTER_KIND, metaRouterSchema)) {
    const host = r.spec.hosts?.[0];
    if (!host) continue;
    const list = out.get(host) ?? [];
    list.push(r);
    out.set(host, list);
  }
  for (const list of out.values()) list.sort(routerOrder);
  return out;
}
