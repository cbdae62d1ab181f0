import { describe, expect, it } from 'vitest';
import { ObservedCalls } from './observed-calls';

describe('ObservedCalls', () => {
  it('keeps per workload each destination with the largest count, the latest time and every source', () => {
    const calls = new ObservedCalls();
    const first: string[] = [];
    calls.onNewCall((c) => first.push(`${c.source.namespace}/${c.source.app} → ${c.destination}`));
    const productpage = { namespace: 'default', app: 'productpage' };
    calls.record('prometheus', productpage, 'reviews.default.svc.cluster.local', 5, 1000);
    calls.record('accesslog', productpage, 'reviews.default.svc.cluster.local', 3, 2000);
    calls.record(
      'mesh',
      { namespace: 'other', app: 'productpage' },
      'details.default.svc.cluster.local',
      1,
      10,
    );
    expect(calls.callsFrom('default', 'productpage').get('reviews.default.svc.cluster.local')).toEqual({
      source: productpage,
      destination: 'reviews.default.svc.cluster.local',
      count: 5,
      lastSeen: 2000,
      via: ['prometheus', 'accesslog'],
    });
    expect([...calls.callsFrom('default', 'details').keys()]).toEqual([]);
    expect(first).toEqual([
      'default/productpage → reviews.default.svc.cluster.local',
      'other/productpage → details.default.svc.cluster.local',
    ]);
  });

  it('reports a failing source until it recovers', () => {
    const calls = new ObservedCalls();
    calls.sourceFailed('prometheus', 'connection refused');
    expect(calls.health()).toEqual({ available: false, message: 'prometheus: connection refused' });
    calls.sourceFailed('prometheus', undefined);
    expect(calls.health()).toEqual({ available: true });
  });
});
