/**
 * The Sidecar a fence asks for, as Slime writes it: named after the fence, one egress listener whose
 * hosts are Istio's and Governor's namespaces, the stable hosts, and every domain still in the fence,
 * sorted and without duplicates (the same fence, the same Sidecar).
 */
import { SIDECAR_API_VERSION, type Destinations, type ServiceFence, type Sidecar } from '@governor/crd-types';
import { inSidecar } from './domains';
import { isNamespaceKey } from './hosts';

export const ISTIO_REV_LABEL = 'istio.io/rev';

export interface SidecarOptions {
  /** Istio's namespace (`global.istioNamespace`). */
  readonly istioNamespace: string;
  /** Governor's own namespace (`global.slimeNamespace`, else GOVERNOR_NAMESPACE). */
  readonly governorNamespace: string;
  /** `general.stableHost`: in every Sidecar. */
  readonly stableHosts: readonly string[];
  /** `global.service`: the Pod label a fence's name selects by default. */
  readonly serviceLabel: string;
  /** `general.globalSidecarMode` and `general.clusterGsNamespace`: where the global sidecar runs. */
  readonly globalSidecarMode?: string;
  readonly clusterGsNamespace?: string;
}

/** The egress hosts, sorted and deduplicated. */
export function egressHosts(
  fence: ServiceFence,
  domains: Readonly<Record<string, Destinations>>,
  options: SidecarOptions,
): string[] {
  const defaults = [options.istioNamespace, options.governorNamespace].map((ns) => `${ns}/*`);
  const hosts = [...defaults];
  for (const h of options.stableHosts) hosts.push(isNamespaceKey(h) ? h : `*/${h}`);
  for (const [key, d] of Object.entries(domains)) {
    if (!inSidecar(d)) continue;
    if (isNamespaceKey(key)) hosts.push(key);
    for (const h of d.hosts ?? []) hosts.push(`*/${h}`);
  }
  const gsNamespace =
    options.globalSidecarMode === 'namespace'
      ? fence.metadata.namespace
      : options.clusterGsNamespace && options.clusterGsNamespace !== options.governorNamespace
        ? options.clusterGsNamespace
        : undefined;
  if (gsNamespace) hosts.push(`*/global-sidecar.${gsNamespace}.svc.cluster.local`);
  return [...new Set(hosts)].sort();
}

export function renderSidecar(
  fence: ServiceFence,
  hosts: readonly string[],
  workloadLabels: Readonly<Record<string, string>>,
): Sidecar {
  const rev = fence.metadata.labels?.[ISTIO_REV_LABEL];
  return {
    apiVersion: SIDECAR_API_VERSION,
    kind: 'Sidecar',
    metadata: {
      name: fence.metadata.name,
      namespace: fence.metadata.namespace,
      ...(rev !== undefined ? { labels: { [ISTIO_REV_LABEL]: rev } } : {}),
    },
    spec: { egress: [{ hosts: [...hosts] }], workloadSelector: { labels: { ...workloadLabels } } },
  };
}
