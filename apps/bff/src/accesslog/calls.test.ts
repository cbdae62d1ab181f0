import { describe, expect, it } from 'vitest';
import { BadNodeError, destinationOf, sourceOfNode, type StructValue } from './calls';

const struct = (o: Record<string, string | Record<string, string>>): StructValue => ({
  fields: Object.fromEntries(
    Object.entries(o).map(([k, v]) => [
      k,
      typeof v === 'string' ? { stringValue: v } : { structValue: struct(v) },
    ]),
  ),
});

const ID = 'sidecar~10.1.2.3~productpage-v1-7d9f.default~default.svc.cluster.local';

describe('sourceOfNode', () => {
  it('reads the namespace and app of an Istio sidecar', () => {
    expect(
      sourceOfNode({
        id: ID,
        metadata: struct({ NAMESPACE: 'default', LABELS: { app: 'productpage', version: 'v1' } }),
      }),
    ).toEqual({ namespace: 'default', app: 'productpage' });
  });

  it('takes the namespace from the id without metadata.NAMESPACE, and other app labels after app', () => {
    expect(
      sourceOfNode({ id: ID, metadata: struct({ LABELS: { 'app.kubernetes.io/name': 'pp' } }) }),
    ).toEqual({ namespace: 'default', app: 'pp' });
    expect(
      sourceOfNode({
        id: ID,
        metadata: struct({ LABELS: { 'service.istio.io/canonical-name': 'productpage-v1' } }),
      }).app,
    ).toBe('productpage-v1');
  });

  it('refuses a node without namespace or app, or with names that are not Kubernetes names', () => {
    expect(() => sourceOfNode(null)).toThrow(BadNodeError);
    expect(() => sourceOfNode({ id: 'router~x', metadata: struct({ LABELS: { app: 'a' } }) })).toThrow(
      /no namespace/,
    );
    expect(() => sourceOfNode({ id: ID, metadata: struct({ LABELS: { version: 'v1' } }) })).toThrow(
      /no app label/,
    );
    expect(() =>
      sourceOfNode({ id: ID, metadata: struct({ NAMESPACE: 'Bad_NS', LABELS: { app: 'a' } }) }),
    ).toThrow(/not a Kubernetes namespace/);
    expect(() => sourceOfNode({ id: ID, metadata: struct({ LABELS: { app: 'a b' } }) })).toThrow(
      /not a label value/,
    );
    expect(() => sourceOfNode({ id: ID, metadata: struct({ LABELS: { app: 'a'.repeat(64) } }) })).toThrow(
      /not a label value/,
    );
  });
});

describe('destinationOf', () => {
  it('names the host of an Istio outbound cluster', () => {
    expect(destinationOf('outbound|9080||reviews.default.svc.cluster.local', 'reviews:9080', 'default')).toBe(
      'reviews.default.svc.cluster.local',
    );
    expect(destinationOf('outbound|9080|v2|reviews.shop.svc.cluster.local', 'x', 'default')).toBe(
      'reviews.shop.svc.cluster.local',
    );
  });

  it('leaves out inbound entries, IP addresses and entries without a name', () => {
    expect(destinationOf('inbound|9080||', 'productpage:9080', 'default')).toBeUndefined();
    expect(destinationOf('PassthroughCluster', '10.0.0.7:80', 'default')).toBeUndefined();
    expect(destinationOf('PassthroughCluster', '[::1]:80', 'default')).toBeUndefined();
    expect(destinationOf('PassthroughCluster', '::1', 'default')).toBeUndefined();
    expect(destinationOf('', '', 'default')).toBeUndefined();
    expect(destinationOf(undefined, 'bad host!', 'default')).toBeUndefined();
    expect(destinationOf(undefined, `${'a'.repeat(64)}`, 'default')).toBeUndefined();
  });

  it('resolves an authority as a name in the source namespace would', () => {
    const ns = 'default';
    expect(destinationOf('PassthroughCluster', 'reviews', ns)).toBe('reviews.default.svc.cluster.local');
    expect(destinationOf('PassthroughCluster', 'Reviews:9080', ns)).toBe('reviews.default.svc.cluster.local');
    expect(destinationOf(undefined, 'reviews.shop.svc', ns)).toBe('reviews.shop.svc.cluster.local');
    expect(destinationOf(undefined, 'reviews.shop.svc.cluster.local.', ns)).toBe(
      'reviews.shop.svc.cluster.local',
    );
    expect(destinationOf(undefined, 'example.com:443', ns)).toBe('example.com');
    expect(destinationOf(undefined, 'reviews.shop', ns, { isNamespace: (n) => n === 'shop' })).toBe(
      'reviews.shop.svc.cluster.local',
    );
    expect(destinationOf(undefined, 'reviews', ns, { clusterDomain: 'corp.local' })).toBe(
      'reviews.default.svc.corp.local',
    );
  });
});
