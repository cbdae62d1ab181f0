import { describe, expect, it } from 'vitest';
import type { Pod } from '@governor/crd-types';
import { Fences, type Destination } from './fences';

const pod = (namespace: string, app: string): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-v1-abc12-xyz`, namespace, labels: { app }, annotations: undefined },
    spec: {},
  }) as Pod;

const sidecar = (
  namespace: string,
  name: string,
  egress: { hosts: string[]; port?: { number: number } }[] | undefined,
  selector?: Record<string, string>,
  created = '2026-01-01T00:00:00Z',
) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name, namespace, creationTimestamp: created },
  spec: { ...(selector ? { workloadSelector: { labels: selector } } : {}), ...(egress ? { egress } : {}) },
});

const svc = (name: string, namespace: string, port = 9080): Destination => ({
  namespace,
  fqdn: `${name}.${namespace}.svc.cluster.local`,
  port,
});

const productpage = pod('default', 'productpage');

describe('Fences', () => {
  it('sees everything without a Sidecar, or with one without egress', () => {
    expect(new Fences([]).sees(productpage, svc('reviews', 'default'))).toBe(true);
    expect(
      new Fences([sidecar('default', 'pp', undefined, { app: 'productpage' })]).sees(
        productpage,
        svc('reviews', 'default'),
      ),
    ).toBe(true);
  });

  it('reads egress hosts by Istio’s rules: */fqdn, ns/*, ./*, */*, ~/*, *.suffix', () => {
    const sees = (hosts: string[], d: Destination) =>
      new Fences([sidecar('default', 'pp', [{ hosts }], { app: 'productpage' })]).sees(productpage, d);
    expect(sees(['*/details.default.svc.cluster.local'], svc('details', 'default'))).toBe(true);
    expect(sees(['*/details.default.svc.cluster.local'], svc('reviews', 'default'))).toBe(false);
    expect(sees(['shop/*'], svc('cart', 'shop'))).toBe(true);
    expect(sees(['shop/*'], svc('reviews', 'default'))).toBe(false);
    expect(sees(['./*'], svc('reviews', 'default'))).toBe(true);
    expect(sees(['./*'], svc('cart', 'shop'))).toBe(false);
    expect(sees(['*/*'], svc('cart', 'shop'))).toBe(true);
    expect(sees(['~/*'], svc('reviews', 'default'))).toBe(false);
    expect(sees(['*/*.shop.svc.cluster.local'], svc('cart', 'shop'))).toBe(true);
    expect(sees(['default/cart.shop.svc.cluster.local'], svc('cart', 'shop'))).toBe(false);
    expect(sees(['istio-system/*', 'reviews'], svc('reviews', 'default'))).toBe(false);
  });

  it('applies a port’s egress listener to that port only', () => {
    const f = new Fences([
      sidecar('default', 'pp', [{ port: { number: 9080 }, hosts: ['./*'] }], { app: 'productpage' }),
    ]);
    expect(f.sees(productpage, svc('reviews', 'default', 9080))).toBe(true);
    expect(f.sees(productpage, svc('reviews', 'default', 8080))).toBe(false);
  });

  it('picks the Sidecar as istiod does: selector, then the namespace’s, then the root namespace’s', () => {
    const selected = sidecar('default', 'pp', [{ hosts: ['*/details.default.svc.cluster.local'] }], {
      app: 'productpage',
    });
    const namespaceWide = sidecar('default', 'ns', [{ hosts: ['./*'] }]);
    const root = sidecar('istio-system', 'mesh', [{ hosts: ['./*', 'istio-system/*'] }]);
    const f = new Fences([root, namespaceWide, selected]);
    expect(f.sidecarOf(productpage)?.name).toBe('pp');
    expect(f.sidecarOf(pod('default', 'reviews'))?.name).toBe('ns');
    expect(f.sidecarOf(pod('shop', 'cart'))?.name).toBe('mesh');
    // The root namespace's `.` is the pod's own namespace.
    expect(f.sees(pod('shop', 'cart'), svc('orders', 'shop'))).toBe(true);
    expect(f.sees(pod('shop', 'cart'), svc('reviews', 'default'))).toBe(false);
    // Another namespace's selector never applies.
    expect(
      new Fences([sidecar('shop', 'pp', [{ hosts: ['~/*'] }], { app: 'productpage' })]).sidecarOf(
        productpage,
      ),
    ).toBeUndefined();
  });

  it('breaks ties by age, then name, and ignores what is not a Sidecar', () => {
    const newer = sidecar(
      'default',
      'a',
      [{ hosts: ['./*'] }],
      { app: 'productpage' },
      '2026-02-01T00:00:00Z',
    );
    const older = sidecar(
      'default',
      'b',
      [{ hosts: ['~/*'] }],
      { app: 'productpage' },
      '2026-01-01T00:00:00Z',
    );
    const f = new Fences([newer, older, { kind: 'Service', metadata: { name: 'x' } }, null, 'x']);
    expect(f.size).toBe(2);
    expect(f.sidecarOf(productpage)?.name).toBe('b');
  });
});
