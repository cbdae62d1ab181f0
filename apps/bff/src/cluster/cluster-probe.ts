/**
 * What a cluster is, as one probe of its API server finds it: the API server's version, Istio's version
 * (istiod's image, or its CRDs), and which of Governor's CRDs are installed.
 */
import { HttpMethod } from '@kubernetes/client-node';
import { governorCrds } from '@governor/crd-types';
import { KubernetesJsonApi } from './kubernetes-json-api';
import { NotFoundError } from './store';

export interface CrdDiff {
  readonly installed: readonly string[];
  readonly missing: readonly string[];
}

export const ISTIO_VERSION_UNKNOWN = 'installed (version unknown)';
const ISTIO_NAMESPACE = 'istio-system';
/** Present whenever Istio is installed, whatever installed it. */
const ISTIO_MARKER_CRD = 'envoyfilters.networking.istio.io';
const CRDS_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Governor's CRD names, from the definitions the manifests are generated from. */
export const GOVERNOR_CRD_NAMES: readonly string[] = Object.values(governorCrds())
  .map((crd) => crd.metadata.name)
  .sort();

/** The API with a request for a list's metadata only: a cluster's CRDs with their schemas can be megabytes. */
export class ProbeApi extends KubernetesJsonApi {
  async metadataNames(path: string): Promise<string[]> {
    const names: string[] = [];
    let continueToken: string | undefined;
    do {
      const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
      context.setHeaderParam(
        'Accept',
        'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      );
      context.setQueryParam('limit', '500');
      if (continueToken !== undefined) context.setQueryParam('continue', continueToken);
      const page = (await this.requestPromise(context)) as unknown as {
        metadata?: { continue?: string };
        items?: { metadata?: { name?: string } }[];
      };
      for (const item of page.items ?? []) {
        if (item.metadata?.name !== undefined) names.push(item.metadata.name);
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return names;
  }
}

export interface ProbeResult {
  readonly apiServerVersion: string | null;
  readonly istioVersion: string | null;
  readonly governorCrds: CrdDiff;
}

export async function probeCluster(api: ProbeApi): Promise<ProbeResult> {
  const [version, crds, deployments] = await Promise.all([
    api.send<{ gitVersion?: string }>({ method: 'GET', path: '/version' }),
    api.metadataNames(CRDS_PATH),
    api
      .send<{ items?: DeploymentLike[] }>({
        method: 'GET',
        path: `/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/deployments`,
      })
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return { items: [] };
        throw error;
      }),
  ]);
  const present = new Set(crds);
  return {
    apiServerVersion: version.gitVersion ?? null,
    istioVersion: istioVersionOf(deployments.items ?? [], present.has(ISTIO_MARKER_CRD)),
    governorCrds: crdDiff(GOVERNOR_CRD_NAMES, present),
  };
}

interface DeploymentLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
}

/**
 * Istio's version from istio-system's Deployments: istiod, a revision of it (`istiod-1-24`), or anything
 * labelled `app: istiod`, by the tag of its pilot (else first) container's image. Several revisions give
 * their versions joined by ", ".
 */
export function istioVersionOf(
  deployments: readonly DeploymentLike[],
  istioCrdsInstalled: boolean,
): string | null {
  const versions = new Set<string>();
  let istiodFound = false;
  for (const deployment of deployments) {
    const name = deployment.metadata?.name ?? '';
    const isIstiod =
      name === 'istiod' || name.startsWith('istiod-') || deployment.metadata?.labels?.['app'] === 'istiod';
    if (!isIstiod) continue;
    istiodFound = true;
    const containers = deployment.spec?.template?.spec?.containers ?? [];
    const container =
      containers.find((c) => c.name === 'discovery') ??
      containers.find((c) => c.image !== undefined && /\/pilot[:@]|^pilot[:@]/.test(c.image)) ??
      containers[0];
    const version = container?.image === undefined ? null : istioVersionFromImage(container.image);
    if (version !== null) versions.add(version);
  }
  if (versions.size > 0) return [...versions].sort().join(', ');
  return istiodFound || istioCrdsInstalled ? ISTIO_VERSION_UNKNOWN : null;
}

/**
 * The version in an image reference's tag: `docker.io/istio/pilot:1.24.2` → `1.24.2`,
 * `gcr.io/istio-release/pilot:1.24.2-distroless@sha256:…` → `1.24.2`; null without a tag or for `latest`.
 */
export function istioVersionFromImage(image: string): string | null {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastPart.indexOf(':');
  if (colon < 0) return null;
  const tag = lastPart.slice(colon + 1).replace(/-(distroless|debug)$/, '');
  if (tag === '' || tag === 'latest') return null;
  return tag;
}

/** Which of `expected` the cluster has, and which it lacks (both sorted). */
export function crdDiff(
  expected: readonly string[],
  present: ReadonlySet<string> | readonly string[],
): CrdDiff {
  const has = present instanceof Set ? present : new Set(present as readonly string[]);
  const sorted = [...expected].sort();
  return { installed: sorted.filter((n) => has.has(n)), missing: sorted.filter((n) => !has.has(n)) };
}
