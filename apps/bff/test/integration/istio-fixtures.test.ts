/**
 * Every Slime documentation example and conversion fixture, rendered by `governor render` and pushed
 * through istiod's config pipeline (scripts/istio/harness) to a proxy its SmartLimiter selects: the
 * assertions are on the Envoy configuration that proxy would get.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli';
import {
  cluster,
  httpConnectionManagers,
  httpFilterConfig,
  httpFilterNames,
  perFilterConfig,
  route,
  routeTable,
  virtualHost,
} from '../support/envoy-config';
import {
  bucket,
  CASES,
  GLOBAL,
  harnessInputPath,
  LOCAL,
  missCase,
  writeHarnessInputs,
  type HarnessInput,
  type MissCase,
} from '../support/istio-fixture-cases';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioHarnessRun,
} from '../support/istio-harness';

const ROUTER = 'envoy.filters.http.router';
const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const GLOBAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const RLS_CLUSTER = 'outbound|8081||governor-rls.governor-system.svc.cluster.local';
const ENVOY_FILTER_WARNING =
  'EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs ' +
  'if possible, and exercise extreme caution, especially around upgrades.';

describe('Slime examples rendered by Governor, through istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-fixtures-'));
    await writeHarnessInputs(dir);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** `governor render ARGS...`: its one EnvoyFilter, as YAML. */
  const render = async (args: string[]): Promise<string> => {
    const out = await runCli(['render', ...args]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(parseAllDocuments(out.stdout).map((d) => (d.toJS() as { kind: string }).kind)).toEqual([
      'EnvoyFilter',
    ]);
    return out.stdout;
  };

  const harness = async (
    name: string,
    rendered: string,
    inputs: HarnessInput[],
    proxy: string,
    gateway = false,
  ): Promise<IstioHarnessRun> => {
    const file = join(dir, `${name.replaceAll('/', '_')}.rendered.yaml`);
    await writeFile(file, rendered);
    const files = inputs.map((i) => harnessInputPath(dir, i));
    return runIstioHarness([file, ...files], proxy, { gateway });
  };

  it.each(CASES)('$name: the limit lands on the proxy', async (c) => {
    const rendered = await render(c.render);
    const { code, dump, stderr } = await harness(c.name, rendered, c.harness, c.proxy, c.gateway);

    expect(dump.unappliedPatches).toEqual([]);
    expect(dump.unselectedEnvoyFilters).toEqual([]);
    expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
    expect(dump.validation.flatMap((v) => v.warnings.filter((w) => w !== ENVOY_FILTER_WARNING))).toEqual([]);
    expect(code, stderr).toBe(0);

    for (const hcm of httpConnectionManagers(dump, c.at)) {
      const names = httpFilterNames(hcm);
      expect(
        names.filter((n) => n === c.filter),
        names.join(', '),
      ).toHaveLength(1);
      expect(names.indexOf(ROUTER), names.join(', ')).toBe(names.indexOf(c.filter) + 1);
      if (c.filter === LOCAL) {
        expect(httpFilterConfig(hcm, LOCAL)).toEqual({
          '@type': TYPED_STRUCT,
          typeUrl: LOCAL_TYPE,
          value: { statPrefix: 'http_local_rate_limiter' },
        });
      } else {
        const config = httpFilterConfig(hcm, GLOBAL);
        expect(config).toMatchObject({
          '@type': TYPED_STRUCT,
          typeUrl: GLOBAL_TYPE,
          value: { domain: 'governor' },
        });
        expect(config.value).toMatchObject({
          rate_limit_service: { grpcService: { envoyGrpc: { clusterName: RLS_CLUSTER } } },
        });
        expect(cluster(dump, RLS_CLUSTER), `the proxy has no cluster ${RLS_CLUSTER}`).toBeDefined();
      }

      const table = routeTable(dump, hcm);
      const { vhost, route: name, actions, descriptors, perRoute } = c.limit;
      const at = name === undefined ? virtualHost(table, vhost) : route(table, vhost, name);
      const rateLimits = name === undefined ? at.rateLimits : (at.route as EnvoyJson).rateLimits;
      expect(rateLimits).toEqual([{ actions }]);
      const perFilter = perFilterConfig(at, LOCAL);
      if (descriptors === undefined) {
        // A global limit's buckets are the rate-limit service's.
        expect(perFilter).toBeUndefined();
        continue;
      }
      expect(perFilter).toMatchObject({ '@type': TYPED_STRUCT, typeUrl: LOCAL_TYPE });
      const value = perFilter!.value as EnvoyJson;
      expect(value).toMatchObject({
        descriptors,
        statPrefix: 'http_local_rate_limiter',
        tokenBucket: bucket('1s', 100000),
        ...perRoute,
      });
      // The route's actions produce the descriptor entries its bucket is keyed by.
      const routeIds = (rateLimits as { actions: EnvoyJson[] }[]).flatMap((l) =>
        l.actions.flatMap((a) =>
          Object.values(a).flatMap((v) => (v as { descriptorValue?: string }).descriptorValue ?? []),
        ),
      );
      const entryIds = (value.descriptors as { entries: { key: string; value: string }[] }[]).flatMap((d) =>
        d.entries.filter((e) => e.key !== 'remote_address').map((e) => e.value),
      );
      expect(entryIds).toEqual(routeIds);
    }
  });

  /** A case whose patches land nowhere: its render through the harness. */
  const runMiss = async (c: MissCase) =>
    harness(c.name, await render(c.render), c.harness, c.proxy, c.gateway);

  it("doc-b: with Bookinfo's reviews on 9080, its route to reviews:80 matches nothing", async () => {
    const { code, dump } = await runMiss(missCase('doc-b-9080'));
    expect(code).toBe(1);
    expect(dump.unappliedPatches.map((p) => [p.index, p.applyTo, p.context])).toEqual([
      [0, 'HTTP_ROUTE', 'SIDECAR_OUTBOUND'],
      [2, 'HTTP_ROUTE', 'SIDECAR_OUTBOUND'],
    ]);
  });

  it('doc-i: the v2 limit leaves the reviews v1 proxy alone', async () => {
    const { dump } = await runMiss(missCase('doc-i-v1'));
    expect(dump.unselectedEnvoyFilters).toEqual(['default/reviews.default.v2.ratelimit']);
    for (const hcm of httpConnectionManagers(dump, { inbound: 9080 }))
      expect(httpFilterNames(hcm)).not.toContain(LOCAL);
  });

  it('conversion/limit_outbound_with_mismatch_selector: ctx-hello has no proxy it selects', async () => {
    const { dump } = await runMiss(missCase('mismatch-hello'));
    expect(dump.unselectedEnvoyFilters).toEqual([
      'default/withselector-missing-match-workload.default.ratelimit',
    ]);
  });
});
