import { describe, expect, it } from 'vitest';
import { MESH } from '../../test/support/istio-mesh';
import { buildProxyModel } from './proxy-model';
import {
  configSize,
  egressAdmits,
  egressHostMatches,
  hostNamespaces,
  parseEgressHost,
  sidecarScope,
} from './sidecar-scope';

const reviews = { namespace: 'default', hostname: 'reviews.default.svc.cluster.local' };
const hello = { namespace: 'other', hostname: 'hello.other.svc.cluster.local' };

describe('parseEgressHost', () => {
  it('reads namespace/host, . as the Sidecar namespace, and refuses ~ and entries without a namespace', () => {
    expect(parseEgressHost('istio-system/*', 'default')).toEqual({ namespace: 'istio-system', host: '*' });
    expect(parseEgressHost('./reviews.default.svc.cluster.local', 'shop')).toEqual({
      namespace: 'shop',
      host: 'reviews.default.svc.cluster.local',
    });
    expect(parseEgressHost('*/*', 'default')).toEqual({ namespace: '*', host: '*' });
    expect(parseEgressHost('~/*', 'default')).toBeNull();
    expect(parseEgressHost('reviews.default.svc.cluster.local', 'default')).toBeNull();
    expect(parseEgressHost('default/', 'default')).toBeNull();
  });
});

describe('egressHostMatches', () => {
  it('matches exactly, *, and *.suffix with one more label at least', () => {
    expect(egressHostMatches('*', 'a.b')).toBe(true);
    expect(egressHostMatches('a.b', 'a.b')).toBe(true);
    expect(egressHostMatches('*.example.com', 'api.example.com')).toBe(true);
    expect(egressHostMatches('*.example.com', 'example.com')).toBe(false);
    expect(egressHostMatches('reviews', 'reviews.default.svc.cluster.local')).toBe(false);
  });
});

describe('egressAdmits: Istio Sidecar egress host rules', () => {
  it('ns/host admits that host declared in that namespace only', () => {
    expect(egressAdmits(['default/reviews.default.svc.cluster.local'], 'x', reviews)).toBe(true);
    expect(egressAdmits(['other/reviews.default.svc.cluster.local'], 'x', reviews)).toBe(false);
  });
  it('ns/* admits every host of the namespace', () => {
    expect(egressAdmits(['other/*'], 'default', hello)).toBe(true);
    expect(egressAdmits(['other/*'], 'default', reviews)).toBe(false);
  });
  it('*/host admits the host wherever it is declared', () => {
    expect(egressAdmits(['*/hello.other.svc.cluster.local'], 'default', hello)).toBe(true);
    expect(egressAdmits(['*/hello.other.svc.cluster.local'], 'default', reviews)).toBe(false);
  });
  it('./host is the Sidecar namespace; */* admits everything', () => {
    expect(egressAdmits(['./*'], 'default', reviews)).toBe(true);
    expect(egressAdmits(['./*'], 'other', reviews)).toBe(false);
    expect(egressAdmits(['*/*'], 'x', hello)).toBe(true);
  });
  it("does not imply the Sidecar's own namespace", () => {
    expect(egressAdmits(['istio-system/*', 'governor-system/*'], 'default', reviews)).toBe(false);
    expect(egressAdmits([], 'default', reviews)).toBe(false);
  });
});

describe('hostNamespaces and sidecarScope', () => {
  it('finds where each host is declared: Services, ServiceEntries, VirtualServices', () => {
    const declared = hostNamespaces(MESH);
    expect(declared.get('reviews.default.svc.cluster.local')).toEqual(['default']);
    expect(declared.get('api.example.com')).toEqual(['default']);
    expect(declared.get('a.test.com')).toEqual(['default']);
    expect(declared.get('hello.other.svc.cluster.local')).toEqual(['other']);
  });
  it('admits a host by any namespace declaring it; an undeclared host only through */…', () => {
    const scope = sidecarScope(['default/*'], 'default', MESH);
    expect(scope('api.example.com')).toBe(true);
    expect(scope('hello.other.svc.cluster.local')).toBe(false);
    expect(scope('nowhere.test')).toBe(false);
    expect(sidecarScope(['*/nowhere.test'], 'default', MESH)('nowhere.test')).toBe(true);
  });
});

describe('configSize', () => {
  const model = buildProxyModel(MESH, { namespace: 'default', name: 'reviews-1' });

  it('counts every cluster, virtual host and route without a Sidecar', () => {
    const all = configSize(model);
    expect(all.clusters).toBe(model.clusters.length);
    expect(all.virtualHosts).toBe(model.routeConfigurations.flatMap((r) => r.virtualHosts).length);
    expect(all.routes).toBeGreaterThanOrEqual(all.virtualHosts);
  });

  it('keeps only admitted outbound clusters and virtual hosts, and inbound, catch-all and Istio’s own', () => {
    const all = configSize(model);
    const none = configSize(model, sidecarScope(['istio-system/*'], 'default', MESH));
    const outbound = model.clusters.filter((c) => c.name.startsWith('outbound|')).length;
    expect(none.clusters).toBe(all.clusters - outbound);
    expect(model.clusters.map((c) => c.name)).toContain('PassthroughCluster');
    // Each outbound HTTP route configuration keeps its allow_any; inbound ones stay whole.
    const outboundRcs = model.routeConfigurations.filter((r) => r.context === 'SIDECAR_OUTBOUND').length;
    const inboundVhs = model.routeConfigurations
      .filter((r) => r.context !== 'SIDECAR_OUTBOUND')
      .flatMap((r) => r.virtualHosts).length;
    expect(none.virtualHosts).toBe(outboundRcs + inboundVhs);

    const some = configSize(model, sidecarScope(['*/hello.other.svc.cluster.local'], 'default', MESH));
    expect(some.clusters).toBe(none.clusters + 1);
    expect(some.clusters).toBeLessThan(all.clusters);
    expect(some.virtualHosts).toBeGreaterThan(none.virtualHosts);
    expect(some.virtualHosts).toBeLessThan(all.virtualHosts);
    expect(configSize(model, sidecarScope(['*/*'], 'default', MESH))).toEqual(all);
  });
});
