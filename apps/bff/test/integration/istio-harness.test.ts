/**
 * Governor's rendered EnvoyFilters as istiod applies them: the render of Slime's single-instance inbound
 * limit, with Bookinfo as the cluster, pushed through istiod's config pipeline (scripts/istio/harness) to
 * the proxy of a reviews Pod.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli, withBookinfo } from '../support/cli';
import { fixturePath } from '../support/fixtures';
import {
  buildIstioHarness,
  inboundHttpConnectionManagers,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
} from '../support/istio-harness';

const REVIEWS_POD = 'default/reviews-v1-8f9d7b9c5-k1';
const LOCAL_RATELIMIT = 'envoy.filters.http.local_ratelimit';

describe('the render of doc-a through istiod', { timeout: 120_000 }, () => {
  let dir = '';
  let rendered = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-'));
    const out = await runCli(['render', ...withBookinfo('doc-a-single-inbound.yaml')]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    rendered = out.stdout;
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** The harness over `envoyFilters` (YAML) and Bookinfo, for a reviews v1 proxy. */
  const harness = async (name: string, envoyFilters: string) => {
    const file = join(dir, name);
    await writeFile(file, envoyFilters);
    return runIstioHarness([file, fixturePath('context-bookinfo.yaml')], REVIEWS_POD);
  };

  it('puts the local rate limit before the router with the rendered token bucket', async () => {
    expect(parseAllDocuments(rendered).map((d) => (d.toJS() as { kind: string }).kind)).toEqual([
      'EnvoyFilter',
    ]);
    const { code, dump, stderr } = await harness('rendered.yaml', rendered);

    expect(dump.unappliedPatches).toEqual([]);
    // The HTTP filter patch names no port: it lands on every inbound HTTP chain, the catch-all one too.
    const route = {
      routeConfiguration: 'inbound|9080||',
      virtualHost: 'inbound|http|9080',
      route: 'default',
    };
    expect(dump.appliedPatches.map(({ index, applyTo, places }) => ({ index, applyTo, places }))).toEqual([
      { index: 0, applyTo: 'HTTP_ROUTE', places: [route] },
      {
        index: 1,
        applyTo: 'HTTP_FILTER',
        places: [
          { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
          { listener: 'virtualInbound', filterChain: 'virtualInbound-catchall-http' },
        ],
      },
      { index: 2, applyTo: 'HTTP_ROUTE', places: [route] },
    ]);
    expect(dump.unselectedEnvoyFilters).toEqual([]);
    expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
    expect(dump.envoyValidation).toEqual([]);
    // Checked, not skipped: the rate limit's type is linked, so its TypedStructs were converted and validated.
    expect(dump.envoyUncheckedTypes).not.toContain(
      'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    );
    // Istio warns of every EnvoyFilter, and of nothing else here.
    expect(
      dump.validation.flatMap((v) => v.warnings.map((w) => `${v.kind} ${v.namespace}/${v.name}: ${w}`)),
    ).toEqual([
      'EnvoyFilter default/reviews.default.ratelimit: EnvoyFilter exposes internal implementation details ' +
        'that may change at any time. Prefer other APIs if possible, and exercise extreme caution, ' +
        'especially around upgrades.',
    ]);
    expect(code, stderr).toBe(0);
    expect(dump.proxy.serviceTargets).toContain('reviews.default.svc.cluster.local:9080');

    const managers = inboundHttpConnectionManagers(dump, 9080);
    expect(managers.length).toBeGreaterThan(0);
    for (const hcm of managers) {
      const filters = (hcm.httpFilters as EnvoyJson[]).map((f) => f.name);
      const limit = filters.indexOf(LOCAL_RATELIMIT);
      expect(limit, filters.join(', ')).toBeGreaterThanOrEqual(0);
      expect(filters.indexOf('envoy.filters.http.router')).toBe(limit + 1);
      expect((hcm.httpFilters as EnvoyJson[])[limit]!.typedConfig).toEqual({
        '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
        typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
        value: { statPrefix: 'http_local_rate_limiter' },
      });

      const route = inboundRoute(hcm, 'inbound|http|9080', 'default');
      expect((route.route as EnvoyJson).rateLimits).toEqual([
        { actions: [{ genericKey: { descriptorValue: 'Service[reviews.default]-Id[2613543592]' } }] },
      ]);
      const perFilter = (route.typedPerFilterConfig as Record<string, EnvoyJson>)[LOCAL_RATELIMIT];
      expect(perFilter).toMatchObject({
        '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
        typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
        value: {
          descriptors: [
            {
              entries: [{ key: 'generic_key', value: 'Service[reviews.default]-Id[2613543592]' }],
              tokenBucket: { fillInterval: '60s', maxTokens: 100, tokensPerFill: 100 },
            },
          ],
          tokenBucket: { fillInterval: '1s', maxTokens: 100000, tokensPerFill: 100000 },
        },
      });
    }
  });

  it("reports a token bucket Envoy would reject, in Envoy's words", async () => {
    // Envoy's TokenBucket: tokens_per_fill must be greater than 0 (the pinned API lets max_tokens be 0).
    const invalid = rendered.replaceAll('tokensPerFill: 100\n', 'tokensPerFill: 0\n');
    expect(invalid).not.toBe(rendered);
    const { code, dump } = await harness('invalid-bucket.yaml', invalid);

    expect(code).toBe(1);
    // Istio passes the EnvoyFilter: it does not look inside a TypedStruct.
    expect(dump.validation.every((v) => v.valid)).toBe(true);
    expect(dump.unappliedPatches).toEqual([]);
    expect(dump.envoyValidation.length).toBeGreaterThan(0);
    for (const e of dump.envoyValidation) {
      expect(e).toMatchObject({
        resource: 'listener virtualInbound',
        type: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      });
      expect(e.path).toMatch(/\.typedPerFilterConfig\["envoy\.filters\.http\.local_ratelimit"\]$/);
      expect(e.error).toBe(
        'invalid LocalRateLimit.Descriptors[0]: embedded message failed validation | caused by: ' +
          'invalid LocalRateLimitDescriptor.TokenBucket: embedded message failed validation | caused by: ' +
          'invalid TokenBucket.TokensPerFill: value must be greater than 0',
      );
    }
  });

  it('reports the patches a misspelt virtual host leaves unmatched', async () => {
    const misspelt = rendered.replaceAll('name: inbound|http|9080', 'name: inbound|http|9081');
    expect(misspelt).not.toBe(rendered);
    const { code, dump } = await harness('misspelt.yaml', misspelt);

    expect(code).toBe(1);
    expect(dump.validation.every((v) => v.valid)).toBe(true);
    expect(
      dump.unappliedPatches.map(({ envoyFilter, index, applyTo, context, operation }) => ({
        envoyFilter,
        index,
        applyTo,
        context,
        operation,
      })),
    ).toEqual([
      {
        envoyFilter: 'default/reviews.default.ratelimit',
        index: 0,
        applyTo: 'HTTP_ROUTE',
        context: 'SIDECAR_INBOUND',
        operation: 'MERGE',
      },
      {
        envoyFilter: 'default/reviews.default.ratelimit',
        index: 2,
        applyTo: 'HTTP_ROUTE',
        context: 'SIDECAR_INBOUND',
        operation: 'MERGE',
      },
    ]);
    expect(dump.unappliedPatches[0]!.match).toMatchObject({
      routeConfiguration: { vhost: { name: 'inbound|http|9081' } },
    });
    expect(dump.appliedPatches.map((p) => [p.index, p.applyTo])).toEqual([[1, 'HTTP_FILTER']]);
    // The HTTP filter patch still matched: the filter is there, with no route configuring its bucket.
    for (const hcm of inboundHttpConnectionManagers(dump, 9080)) {
      expect((hcm.httpFilters as EnvoyJson[]).map((f) => f.name)).toContain(LOCAL_RATELIMIT);
      const route = inboundRoute(hcm, 'inbound|http|9080', 'default');
      expect(route.typedPerFilterConfig).toBeUndefined();
    }
  });
});

/** A route of the connection manager's inline route table, by virtual host and route name. */
function inboundRoute(hcm: EnvoyJson, vhost: string, name: string): EnvoyJson {
  const table = hcm.routeConfig as { virtualHosts?: { name: string; routes?: EnvoyJson[] }[] } | undefined;
  const host = table?.virtualHosts?.find((v) => v.name === vhost);
  const route = host?.routes?.find((r) => r.name === name);
  if (route === undefined)
    throw new Error(
      `no route ${vhost}/${name} in ${JSON.stringify(table?.virtualHosts?.map((v) => v.name))}`,
    );
  return route;
}
