import { describe, expect, it } from 'vitest';
import { describePatch, describePlace } from './describe';

describe('describePlace', () => {
  it('names each level of a place, outermost first', () => {
    expect(describePlace({ listener: 'virtualInbound', filterChain: '0.0.0.0_9080' })).toBe(
      'listener virtualInbound, filter chain 0.0.0.0_9080',
    );
    expect(
      describePlace({
        routeConfiguration: '9080',
        virtualHost: 'reviews.default.svc.cluster.local:9080',
        route: 'default',
      }),
    ).toBe('route configuration 9080, virtual host reviews.default.svc.cluster.local:9080, route default');
    expect(describePlace({ cluster: 'outbound|9080||reviews.default.svc.cluster.local' })).toBe(
      'cluster outbound|9080||reviews.default.svc.cluster.local',
    );
  });

  it('names a patch by index, type, operation and context', () => {
    expect(
      describePatch({
        envoyFilter: 'default/x',
        index: 2,
        applyTo: 'HTTP_FILTER',
        operation: 'INSERT_BEFORE',
        context: 'SIDECAR_INBOUND',
        places: [],
      }),
    ).toBe('patch 2 HTTP_FILTER INSERT_BEFORE (SIDECAR_INBOUND)');
  });
});
