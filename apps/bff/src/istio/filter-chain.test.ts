import { describe, expect, it } from 'vitest';
import { controllerOf, workloadFilterChains, type ConnectionManagerChain } from './filter-chain';
import { MESH } from '../../test/support/istio-mesh';
import type { KubeObject } from './proxy-model';

const SIDECAR = { namespace: 'default', name: 'reviews-1' };
const GATEWAY = { namespace: 'gw', name: 'gw-1' };
const HCM = 'envoy.filters.network.http_connection_manager';

const ef = (name: string, patches: unknown[], extra: Record<string, unknown> = {}, namespace = 'default') =>
  ({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace, ...extra },
    spec: { configPatches: patches },
  }) as KubeObject;

const httpFilter = (
  context: string,
  operation: string,
  value: Record<string, unknown>,
  subFilter?: string,
  portNumber?: number,
) => ({
  applyTo: 'HTTP_FILTER',
  match: {
    context,
    listener: {
      ...(portNumber ? { portNumber } : {}),
      filterChain: { filter: { name: HCM, ...(subFilter ? { subFilter: { name: subFilter } } : {}) } },
    },
  },
  patch: { operation, value },
});

const names = (c: ConnectionManagerChain | undefined) => c?.filters.map((f) => f.name);
const inbound9080 = (chains: ConnectionManagerChain[]) =>
  chains.find((c) => c.direction === 'inbound' && c.port === 9080);

describe('workloadFilterChains', () => {
  it('lists istiod’s own filters per connection manager, inbound then outbound, by port', () => {
    const r = workloadFilterChains({ objects: MESH, envoyFilters: [], proxy: SIDECAR });
    expect(r.proxy).toEqual({ namespace: 'default', name: 'reviews-1', type: 'sidecar' });
    const inbound = inbound9080(r.chains)!;
    expect(names(inbound)).toEqual([
      'istio.metadata_exchange',
      'envoy.filters.http.grpc_stats',
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      'envoy.filters.http.router',
    ]);
    expect(inbound.filters.every((f) => f.by === 'istio')).toBe(true);
    // The TLS and plain-text chains of the port run the same filters: one entry for both.
    expect(inbound.filterChains).toEqual(['0.0.0.0_9080']);
    expect(inbound.routeConfiguration).toBe('inbound|9080||');
    expect(r.chains.map((c) => c.direction)).toEqual(
      [...r.chains.map((c) => c.direction)].sort((a, b) => (a === b ? 0 : a === 'inbound' ? -1 : 1)),
    );
    expect(r.chains.some((c) => c.direction === 'outbound' && c.port === 9080)).toBe(true);
    // The catch-all inbound chain has no port and comes after the ports'.
    const catchAll = r.chains.filter((c) => c.direction === 'inbound' && c.port === undefined);
    expect(catchAll.length).toBe(1);
  });

  it('places inserts, removes and replaces in istiod’s order, each with its EnvoyFilter, patch and owner', () => {
    const owned = ef(
      'ratings-fault',
      [
        httpFilter(
          'SIDECAR_INBOUND',
          'INSERT_BEFORE',
          { name: 'envoy.filters.http.fault', disabled: true },
          'envoy.filters.http.router',
          9080,
        ),
        httpFilter('SIDECAR_INBOUND', 'INSERT_FIRST', { name: 'first' }, undefined, 9080),
      ],
      {
        ownerReferences: [
          {
            apiVersion: 'microservice.slime.io/v1alpha1',
            kind: 'PluginManager',
            name: 'ratings',
            uid: 'u',
            controller: true,
          },
        ],
      },
    );
    const other = ef('z-edit', [
      httpFilter('SIDECAR_INBOUND', 'REMOVE', {}, 'envoy.filters.http.cors'),
      httpFilter(
        'SIDECAR_INBOUND',
        'REPLACE',
        { name: 'envoy.filters.http.grpc_stats' },
        'envoy.filters.http.grpc_stats',
      ),
      httpFilter('SIDECAR_INBOUND', 'INSERT_AFTER', { name: 'after-first' }, 'first'),
    ]);
    const r = workloadFilterChains({ objects: MESH, envoyFilters: [other, owned], proxy: SIDECAR });
    const inbound = inbound9080(r.chains)!;
    expect(inbound.filters).toEqual([
      {
        name: 'first',
        by: { envoyFilter: 'default/ratings-fault', patch: 1, owner: 'PluginManager default/ratings' },
      },
      { name: 'after-first', by: { envoyFilter: 'default/z-edit', patch: 2 } },
      { name: 'istio.metadata_exchange', by: 'istio' },
      { name: 'envoy.filters.http.grpc_stats', by: { envoyFilter: 'default/z-edit', patch: 1 } },
      { name: 'envoy.filters.http.fault', by: 'istio' },
      {
        name: 'envoy.filters.http.fault',
        disabled: true,
        by: { envoyFilter: 'default/ratings-fault', patch: 0, owner: 'PluginManager default/ratings' },
      },
      { name: 'envoy.filters.http.router', by: 'istio' },
    ]);
    // Other ports and the outbound side are untouched by the port-bound patches of ratings-fault.
    const outbound = r.chains.find((c) => c.direction === 'outbound' && c.port === 9080)!;
    expect(outbound.filters.some((f) => f.name === 'first')).toBe(false);
    expect(r.selected).toEqual(['default/ratings-fault', 'default/z-edit']);
  });

  it('leaves out EnvoyFilters that do not select the proxy and reports patches that match nothing', () => {
    const elsewhere = ef('x', [httpFilter('SIDECAR_INBOUND', 'ADD', { name: 'nope' })], {}, 'other');
    const unmatched = ef('y', [httpFilter('SIDECAR_INBOUND', 'INSERT_BEFORE', { name: 'n' }, 'missing')]);
    const r = workloadFilterChains({ objects: MESH, envoyFilters: [elsewhere, unmatched], proxy: SIDECAR });
    expect(r.chains.flatMap((c) => c.filters).every((f) => f.by === 'istio')).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('default/y patch 0');
  });

  it('gives a gateway its listeners’ chains', () => {
    const gw = ef(
      'gw-filter',
      [
        httpFilter(
          'GATEWAY',
          'INSERT_BEFORE',
          { name: 'envoy.filters.http.lua' },
          'envoy.filters.http.router',
        ),
      ],
      {},
      'gw',
    );
    const r = workloadFilterChains({ objects: MESH, envoyFilters: [gw], proxy: GATEWAY });
    expect(r.proxy.type).toBe('gateway');
    expect(r.chains.every((c) => c.direction === 'gateway')).toBe(true);
    const c = r.chains.find((x) => x.port === 80)!;
    expect(names(c)!.slice(-2)).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.router']);
  });
});

describe('controllerOf', () => {
  it('names the controller owner, not other owners', () => {
    expect(
      controllerOf(
        ef('a', [], {
          ownerReferences: [
            { kind: 'Other', name: 'o' },
            { kind: 'SmartLimiter', name: 'reviews', controller: true },
          ],
        }),
      ),
    ).toBe('SmartLimiter default/reviews');
    expect(controllerOf(ef('a', []))).toBeUndefined();
  });
});
