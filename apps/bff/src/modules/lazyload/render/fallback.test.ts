import { describe, expect, it } from 'vitest';
import {
  fallbackEnvoyFilterName,
  renderFallbackEnvoyFilter,
  wormholePortNumbers,
  type FallbackInput,
} from './fallback';

const FENCE: FallbackInput = {
  fence: { name: 'productpage', namespace: 'default' },
  workloadSelector: { app: 'productpage' },
  wormholePorts: ['9080'],
};
const FALLBACK = 'outbound|80||global-sidecar.default.svc.cluster.local';

const routeClusters = (input: FallbackInput) =>
  renderFallbackEnvoyFilter(input)!.spec.configPatches.map((p) => {
    const value = p.patch.value as {
      route?: { cluster?: string };
      routes?: { route: { cluster: string } }[];
    };
    return value.route?.cluster ?? value.routes?.[0]?.route.cluster;
  });

describe('renderFallbackEnvoyFilter', () => {
  it('sends the catch-all route of each wormhole port to the namespace’s global sidecar', () => {
    const filter = renderFallbackEnvoyFilter({ ...FENCE, wormholePorts: ['9080', '8080'] })!;
    expect(filter.metadata).toEqual({ name: 'productpage.default.lazyload-fallback', namespace: 'default' });
    expect(filter.spec.workloadSelector).toEqual({ labels: { app: 'productpage' } });
    expect(filter.spec.configPatches).toHaveLength(2);
    expect(filter.spec.configPatches[0]).toEqual({
      applyTo: 'HTTP_ROUTE',
      match: {
        context: 'SIDECAR_OUTBOUND',
        routeConfiguration: { portNumber: 8080, vhost: { name: 'allow_any', route: { name: 'allow_any' } } },
      },
      patch: {
        operation: 'MERGE',
        value: {
          route: { cluster: FALLBACK, timeout: '0s' },
          request_headers_to_add: [
            {
              header: { key: 'Slime-Orig-Dest', value: '%DOWNSTREAM_LOCAL_ADDRESS%' },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
            {
              header: { key: 'Slime-Source-Ns', value: 'default' },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          ],
        },
      },
    });
    expect(filter.spec.configPatches[1]!.match?.routeConfiguration?.portNumber).toBe(9080);
  });

  it('does not clash with the limiter’s names', () => {
    expect(fallbackEnvoyFilterName({ name: 'reviews', namespace: 'shop' })).toBe(
      'reviews.shop.lazyload-fallback',
    );
    expect(fallbackEnvoyFilterName({ name: 'reviews', namespace: 'shop' })).not.toMatch(/\.ratelimit$/);
  });

  it('uses the fallback address, revision label and selector it is given', () => {
    const filter = renderFallbackEnvoyFilter({
      ...FENCE,
      fallback: { host: 'global-sidecar.mesh-system.svc.cluster.local', port: 8080 },
      revision: 'canary',
    })!;
    expect(filter.metadata.labels).toEqual({ 'istio.io/rev': 'canary' });
    expect(routeClusters({ ...FENCE, fallback: { host: 'gs.x.svc.cluster.local', port: 81 } })).toEqual([
      'outbound|81||gs.x.svc.cluster.local',
    ]);
    expect(JSON.stringify(filter)).toContain('outbound|8080||global-sidecar.mesh-system.svc.cluster.local');
    expect(
      renderFallbackEnvoyFilter({ ...FENCE, workloadSelector: {} })!.spec.workloadSelector,
    ).toBeUndefined();
  });

  it('routes dispatches before the default, in order: regexes as routes, domains as virtual hosts', () => {
    const input: FallbackInput = {
      ...FENCE,
      dispatches: [
        { name: 'ext', domains: ['*.example.com', 'api.test'], cluster: 'outbound|443||egress.x' },
        { name: 'mesh', domainRegex: '.*\\.svc\\.cluster\\.local', cluster: '_GLOBAL_SIDECAR' },
        { name: 'out', domainRegex: '.*\\.com', cluster: 'PassthroughCluster' },
      ],
    };
    const patches = renderFallbackEnvoyFilter(input)!.spec.configPatches;
    expect(patches.map((p) => `${p.applyTo} ${p.patch.operation}`)).toEqual([
      'HTTP_ROUTE INSERT_BEFORE',
      'HTTP_ROUTE INSERT_BEFORE',
      'HTTP_ROUTE MERGE',
      'VIRTUAL_HOST ADD',
    ]);
    expect(patches[0]!.patch.value).toMatchObject({
      name: 'mesh',
      match: {
        prefix: '/',
        headers: [
          { name: ':authority', string_match: { safe_regex: { regex: '.*\\.svc\\.cluster\\.local' } } },
        ],
      },
    });
    expect(routeClusters(input)).toEqual([
      FALLBACK,
      'PassthroughCluster',
      FALLBACK,
      'outbound|443||egress.x',
    ]);
    // Only routes to the fallback carry its headers.
    expect(patches[1]!.patch.value).not.toHaveProperty('request_headers_to_add');
    expect(patches[3]!.patch.value).toMatchObject({ name: 'ext', domains: ['*.example.com', 'api.test'] });
  });

  it('keeps passthrough for hosts no dispatch matches when passthroughByDefault', () => {
    const input: FallbackInput = {
      ...FENCE,
      passthroughByDefault: true,
      dispatches: [{ name: 'mesh', domainRegex: '.*\\.svc\\.cluster\\.local', cluster: '_GLOBAL_SIDECAR' }],
    };
    const patches = renderFallbackEnvoyFilter(input)!.spec.configPatches;
    expect(patches.map((p) => p.patch.operation)).toEqual(['INSERT_BEFORE']);
    expect(renderFallbackEnvoyFilter({ ...FENCE, passthroughByDefault: true })).toBeNull();
  });

  it('leaves out wormhole ports that are not port numbers, and renders nothing without one', () => {
    expect(wormholePortNumbers(['9080', ' 80 ', '9080', 'http', '0', '70000', '-1', '1.5'])).toEqual([
      80, 9080,
    ]);
    expect(renderFallbackEnvoyFilter({ ...FENCE, wormholePorts: ['x'] })).toBeNull();
    expect(renderFallbackEnvoyFilter({ ...FENCE, wormholePorts: [] })).toBeNull();
  });

  it('is pure: the same input gives the same filter, and the input is not kept', () => {
    const selector = { app: 'productpage' };
    const a = renderFallbackEnvoyFilter({ ...FENCE, workloadSelector: selector })!;
    selector.app = 'changed';
    expect(a).toEqual(renderFallbackEnvoyFilter(FENCE));
  });
});
