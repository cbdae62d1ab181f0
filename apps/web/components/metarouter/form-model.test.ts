import { describe, expect, it } from 'vitest';
import { attributesOf, attributesValue, editText, issuePath, readMetaRouterText } from './form-model';

const TEXT = `# the rating service's routes
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: { name: rating-rpc, namespace: default }
spec:
  hosts: [rating-rpc.default.svc.cluster.local]
  routes:
    - name: split # by weight
      match:
        attributes:
          method: { exact: getRating }
          tenant:
      route:
        - destination: { host: rating-rpc.default.svc.cluster.local, subset: v1 }
          weight: 70
        - destination: { host: rating-rpc.default.svc.cluster.local, subset: v2 }
          weight: 30
      mirror_percentage: { value: 10 }
`;

describe('the MetaRouter form model', () => {
  it('sets one value, keeping comments and the author’s spelling', () => {
    const out = editText(TEXT, ['spec', 'routes', 0, 'route', 1, 'weight'], 20);
    expect(out).toContain('weight: 20');
    expect(out).toContain('# by weight');
    expect(editText(TEXT, ['spec', 'routes', 0, 'mirrorPercentage', 'value'], 5)).toContain(
      'mirror_percentage: { value: 5 }',
    );
  });

  it('adds list items and parents, and removes values', () => {
    const added = editText(TEXT, ['spec', 'routes', 0, 'requestMutation', 0], { key: 'a', value: 'b' });
    const r = readMetaRouterText(added);
    expect(r.ok && r.written.spec).toMatchObject({
      routes: [{ requestMutation: [{ key: 'a', value: 'b' }] }],
    });
    const removed = readMetaRouterText(editText(TEXT, ['spec', 'routes', 0, 'route', 0], undefined));
    expect(
      removed.ok && (removed.written.spec as { routes: { route: unknown[] }[] }).routes[0]!.route,
    ).toHaveLength(1);
  });

  it('reads attribute matches, a bare attribute as present, and writes them back', () => {
    const r = readMetaRouterText(TEXT);
    if (!r.ok) throw new Error(r.reason);
    const match = (r.written.spec as { routes: { match: never }[] }).routes[0]!.match;
    const list = attributesOf(match);
    expect(list).toEqual([
      { name: 'method', kind: 'exact', value: 'getRating' },
      { name: 'tenant', kind: 'present', value: '' },
    ]);
    expect(attributesValue([...list, { name: 'svc', kind: 'prefix', value: 'Rat' }])).toEqual({
      method: { exact: 'getRating' },
      tenant: {},
      svc: { prefix: 'Rat' },
    });
  });

  it('names paths as the BFF’s issues do, and refuses what is not a MetaRouter', () => {
    expect(issuePath(['spec', 'routes', 0, 'route'])).toBe('spec.routes[0].route');
    expect(readMetaRouterText('kind: Sidecar').ok).toBe(false);
    expect(readMetaRouterText('kind: [').ok).toBe(false);
  });
});
