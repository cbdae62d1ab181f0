/**
 * Istio `Sidecar`s as the simulated mesh reads them: which Sidecar applies to a pod, and whether its egress
 * lets the pod's proxy see a destination service. A call to a service its proxy does not see goes through
 * the lazyload fallback (the global sidecar) instead of straight to the service.
 */
import type { Pod } from '@governor/crd-types';
import { egressAdmits } from '../istio/sidecar-scope';
import { labelsMatch, namespaceOf } from '../modules/limiter/render';
import { byAge, compileAll, isRecord, istioObjectOf, type IstioObjectMeta } from './istio-objects';

/** Where a Sidecar without a workload selector applies to every namespace that has none of its own. */
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

/** A destination as a proxy sees it: the Service's namespace, its FQDN and the port called. */
export interface Destination {
  readonly namespace: string;
  readonly fqdn: string;
  readonly port: number;
}

interface EgressListener {
  /** Hosts apply to this port only; undefined: every port. */
  readonly port: number | undefined;
  /** `namespace/host` entries, as written. */
  readonly hosts: readonly string[];
}

interface CompiledSidecar extends IstioObjectMeta {
  /** Undefined without `egress`: Istio then leaves every service visible. */
  readonly egress: readonly EgressListener[] | undefined;
}

/** A Sidecar object as far as visibility goes; undefined for anything else. */
function compile(raw: unknown): CompiledSidecar | undefined {
  const object = istioObjectOf(raw, 'Sidecar');
  if (!object) return undefined;
  const { spec } = object;
  const egress = Array.isArray(spec['egress'])
    ? spec['egress'].filter(isRecord).map((e): EgressListener => {
        const port = isRecord(e['port']) ? e['port']['number'] : undefined;
        const hosts = Array.isArray(e['hosts']) ? e['hosts'] : [];
        return {
          port: typeof port === 'number' ? port : undefined,
          hosts: hosts.filter((h): h is string => typeof h === 'string'),
        };
      })
    : undefined;
  return { ...object.meta, egress: egress && egress.length > 0 ? egress : undefined };
}

/** The Sidecars of the mesh, compiled once per object. */
export class Fences {
  private readonly sidecars: readonly CompiledSidecar[];

  constructor(
    sidecars: readonly unknown[],
    private readonly rootNamespace = DEFAULT_ROOT_NAMESPACE,
  ) {
    // As istiod breaks ties between Sidecars that apply alike: the oldest, then by name.
    this.sidecars = compileAll(sidecars, compiled, byAge);
  }

  get size(): number {
    return this.sidecars.length;
  }

  /**
   * The Sidecar that applies to a pod, as istiod picks it: one of its namespace whose workload selector
   * matches the pod, else its namespace's one without a selector, else the root namespace's one without.
   */
  sidecarOf(pod: Pod): CompiledSidecar | undefined {
    const ns = namespaceOf(pod);
    const labels = pod.metadata.labels ?? {};
    return (
      this.sidecars.find((s) => s.namespace === ns && s.selector && labelsMatch(s.selector, labels)) ??
      this.sidecars.find((s) => s.namespace === ns && !s.selector) ??
      this.sidecars.find((s) => s.namespace === this.rootNamespace && !s.selector)
    );
  }

  /** Whether the pod's proxy sees the destination: true without a Sidecar, or with one without egress. */
  sees(pod: Pod, d: Destination): boolean {
    const sidecar = this.sidecarOf(pod);
    if (!sidecar?.egress) return true;
    // A Sidecar in the root namespace applies elsewhere with `.` meaning the pod's own namespace.
    const own = sidecar.namespace === this.rootNamespace ? namespaceOf(pod) : sidecar.namespace;
    const service = { namespace: d.namespace, hostname: d.fqdn };
    return sidecar.egress.some(
      (e) => (e.port === undefined || e.port === d.port) && egressAdmits(e.hosts, own, service),
    );
  }
}

// Informers replace an object when it changes, so an object seen again compiles to the same thing.
const compiledCache = new WeakMap<object, CompiledSidecar | null>();

function compiled(raw: unknown): CompiledSidecar | undefined {
  if (!isRecord(raw)) return undefined;
  if (!compiledCache.has(raw)) compiledCache.set(raw, compile(raw) ?? null);
  return compiledCache.get(raw) ?? undefined;
}
