/**
 * What an Envoy access-log stream says about calls: the calling workload, from the stream's node (an Istio
 * sidecar's), and each entry's destination service, from its upstream cluster or else its authority.
 */

export interface SourceWorkload {
  readonly namespace: string;
  readonly app: string;
}

/** `google.protobuf.Struct` as proto-loader gives it (`keepCase`, `oneofs`). */
export interface StructValue {
  readonly fields?: Readonly<Record<string, ProtoValue | undefined>> | null;
}
export interface ProtoValue {
  readonly stringValue?: string | null;
  readonly structValue?: StructValue | null;
}

/** The parts of `envoy.config.core.v3.Node` read here. */
export interface EnvoyNode {
  readonly id?: string | null;
  readonly metadata?: StructValue | null;
}

export class BadNodeError extends Error {}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// A label value: at most 63 characters, alphanumeric at both ends, `-`, `_` and `.` between.
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** Labels Istio reads a workload's app from, in its order (`source_app`, the canonical service). */
const APP_LABELS = ['app', 'app.kubernetes.io/name', 'service.istio.io/canonical-name'];

const stringField = (s: StructValue | null | undefined, name: string): string | undefined => {
  const v = s?.fields?.[name]?.stringValue;
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * The workload a sidecar's node belongs to: its namespace from `metadata.NAMESPACE`, else from the id
 * (`sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`); its app from the `app` label in
 * `metadata.LABELS` (then `app.kubernetes.io/name`, then Istio's canonical service name). Throws
 * `BadNodeError` when either is missing or not a Kubernetes name.
 */
export function sourceOfNode(node: EnvoyNode | null | undefined): SourceWorkload {
  if (!node) throw new BadNodeError('the first message has no identifier.node');
  const id = typeof node.id === 'string' ? node.id : '';
  const idParts = id.split('~');
  const fromId = idParts.length === 4 ? idParts[3]!.split('.')[0] : undefined;
  const namespace = stringField(node.metadata, 'NAMESPACE') ?? fromId;
  if (namespace === undefined || !DNS_LABEL.test(namespace))
    throw new BadNodeError(
      namespace === undefined
        ? 'the node says no namespace (metadata.NAMESPACE, or an id sidecar~ip~pod.ns~ns.svc.cluster.local)'
        : `the node's namespace is not a Kubernetes namespace: ${JSON.stringify(namespace.slice(0, 80))}`,
    );
  const labels = node.metadata?.fields?.['LABELS']?.structValue;
  const app = APP_LABELS.map((l) => stringField(labels, l)).find((v) => v !== undefined);
  if (app === undefined)
    throw new BadNodeError(`the node (namespace ${namespace}) has no app label in metadata.LABELS`);
  if (!LABEL_VALUE.test(app))
    throw new BadNodeError(`the node's app label is not a label value: ${JSON.stringify(app.slice(0, 80))}`);
  return { namespace, app };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const isDnsName = (host: string): boolean =>
  host.length <= 253 && host.split('.').every((l) => DNS_LABEL.test(l) || /^[a-z0-9_]{1,63}$/.test(l));

/** The host of an authority (`host`, `host:port`, `[v6]:port`), lower-cased, without a trailing dot. */
function hostOf(authority: string): string | undefined {
  if (authority.startsWith('[')) return undefined; // an IPv6 literal
  const colon = authority.indexOf(':');
  if (colon >= 0 && authority.indexOf(':', colon + 1) >= 0) return undefined; // a bare IPv6 literal
  const host = (colon >= 0 ? authority.slice(0, colon) : authority).toLowerCase().replace(/\.$/, '');
  return host === '' || IPV4.test(host) ? undefined : host;
}

export interface ResolveOptions {
  /** Default `cluster.local`. */
  readonly clusterDomain?: string;
  /**
   * Whether a name is a namespace, so that `reviews.other` reads `reviews.other.svc.<domain>`. Without it a
   * two-label authority is taken as an outside host (`example.com`).
   */
  readonly isNamespace?: (name: string) => boolean;
}

/**
 * The destination service of one entry, as an FQDN, or undefined when the entry is no outbound call to a
 * named service (an inbound entry, an IP address, no authority):
 * - an Istio outbound cluster `outbound|<port>|<subset>|<fqdn>` names it;
 * - otherwise (`PassthroughCluster`, no cluster) the authority does, resolved as a name in the source's
 *   namespace resolves: `reviews` and `reviews:9080` → `reviews.<namespace>.svc.<domain>`,
 *   `reviews.ns.svc` → `reviews.ns.svc.<domain>`, `reviews.ns` when `ns` is a namespace; longer names as
 *   they are.
 */
export function destinationOf(
  upstreamCluster: string | null | undefined,
  authority: string | null | undefined,
  sourceNamespace: string,
  options: ResolveOptions = {},
): string | undefined {
  const domain = options.clusterDomain ?? 'cluster.local';
  const cluster = upstreamCluster ?? '';
  const parts = cluster.split('|');
  if (parts.length === 4) {
    if (parts[0] === 'inbound') return undefined; // a call this workload received
    if (parts[0] === 'outbound') {
      const host = parts[3]!.toLowerCase().replace(/\.$/, '');
      if (host !== '' && isDnsName(host)) return host;
    }
  }
  const host = hostOf(authority ?? '');
  if (host === undefined || !isDnsName(host)) return undefined;
  const labels = host.split('.');
  if (labels.length === 1) return `${host}.${sourceNamespace}.svc.${domain}`;
  if (labels.length === 2 && options.isNamespace?.(labels[1]!)) return `${host}.svc.${domain}`;
  if (labels.length === 3 && labels[2] === 'svc') return `${host}.${domain}`;
  return host;
}
