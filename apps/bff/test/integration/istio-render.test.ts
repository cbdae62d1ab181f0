/**
 * The EnvoyFilters of the render unit test's semantic cases (source addresses, response headers, outbound
 * routes and virtual hosts, header and query matchers, global limits that fail closed, shadow mode),
 * rendered by `renderSmartLimiter` over Bookinfo and pushed through istiod's config pipeline
 * (scripts/istio/harness) to a proxy the SmartLimiter selects: the assertions are on what that proxy
 * would get, and on Istio's and Envoy's judgement of it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderSmartLimiter, type RenderResult } from '../../src/modules/limiter/render/render';
import { formatProblem } from '../../src/modules/limiter/render/status';
import {
  ENVOY_FILTER_WARNING,
  GLOBAL_RATELIMIT,
  GLOBAL_RATELIMIT_TYPE,
  httpConnectionManagers,
  httpFilterConfig,
  httpFilterNames,
  LOCAL_RATELIMIT,
  LOCAL_RATELIMIT_TYPE,
  perFilterConfig,
  route,
  ROUTER,
  routeTable,
  tokenBucket,
  TYPED_STRUCT,
  virtualHost,
  type HcmPlace,
} from '../support/envoy-config';
import {
  contextOf,
  fixturePath,
  loadObjects,
  onlyLimiter,
  OUTBOUND_DESCRIPTORS,
  smartLimiterYaml,
  SOURCE_ADDRESS_DESCRIPTORS,
} from '../support/fixtures';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioHarnessRun,
} from '../support/istio-harness';

const BOOKINFO = fixturePath('context-bookinfo.yaml');
/** Governor's manifests give the proxy the rate-limit service's cluster. */
const GOVERNOR_MANIFESTS = fileURLToPath(new URL('../../../../deploy/governor.yaml', import.meta.url));
const RLS_CLUSTER = 'outbound|8081||governor-rls.governor-system.svc.cluster.local';
const REVIEWS_V1 = 'default/reviews-v1-8f9d7b9c5-k1';
const INBOUND_9080 = { vhost: 'inbound|http|9080', route: 'default' };

const ctx = contextOf(loadObjects('context-bookinfo.yaml'));

const serviceId = expect.stringMatching(/^Service\[reviews\.default\]-Id\[\d+\]$/) as unknown as string;

describe('render semantics through istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-render-'));
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** Renders the SmartLimiter over Bookinfo; fails on any problem or when nothing renders. */
  const render = (limiterYaml: string): RenderResult => {
    const r = renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: limiterYaml })), context: ctx });
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.envoyFilters).toHaveLength(1);
    return r;
  };

  /** The rendered EnvoyFilters, as `governor render` writes them, with Bookinfo, for the reviews v1 proxy. */
  const harness = async (name: string, r: RenderResult, extra: string[] = []): Promise<IstioHarnessRun> => {
    const file = join(dir, `${name}.rendered.yaml`);
    await writeFile(
      file,
      r.envoyFilters.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'),
    );
    return runIstioHarness([file, BOOKINFO, ...extra], REVIEWS_V1);
  };

  /** Istio takes the objects as they are, Envoy would accept every resource, and every type was checked. */
  const expectAccepted = ({ dump }: IstioHarnessRun) => {
    expect(dump.unselectedEnvoyFilters).toEqual([]);
    expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
    expect(dump.validation.flatMap((v) => v.warnings.filter((w) => w !== ENVOY_FILTER_WARNING))).toEqual([]);
    expect(dump.envoyValidation).toEqual([]);
    expect(dump.envoyUncheckedTypes).toEqual([]);
  };

  /** The harness run, accepted, with every patch applied. */
  const applied = async (name: string, r: RenderResult, extra: string[] = []): Promise<IstioHarnessRun> => {
    const run = await harness(name, r, extra);
    expectAccepted(run);
    expect(run.dump.unappliedPatches).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    return run;
  };

  /**
   * The connection managers at `place`, each checked to hold `filters` once each, in that order, right
   * before the router.
   */
  const managersWith = (run: IstioHarnessRun, place: HcmPlace, filters: string[]): EnvoyJson[] => {
    const managers = httpConnectionManagers(run.dump, place);
    for (const hcm of managers) {
      const names = httpFilterNames(hcm);
      const at = names.indexOf(ROUTER) - filters.length;
      expect(names.slice(at), names.join(', ')).toEqual([...filters, ROUTER]);
      expect(names.filter((n) => filters.includes(n))).toEqual(filters);
    }
    return managers;
  };

  /** The local rate limit's per-route config at `at`: a TypedStruct of the filter's type. */
  const localPerRoute = (at: EnvoyJson): EnvoyJson => {
    const config = perFilterConfig(at, LOCAL_RATELIMIT);
    expect(config).toMatchObject({ '@type': TYPED_STRUCT, typeUrl: LOCAL_RATELIMIT_TYPE });
    return config!.value as EnvoyJson;
  };

  it('gives each source address its own descriptor and adds response headers', async () => {
    const r = render(smartLimiterYaml(SOURCE_ADDRESS_DESCRIPTORS));
    const run = await applied('source-address', r);

    for (const hcm of managersWith(run, { inbound: 9080 }, [LOCAL_RATELIMIT])) {
      const at = route(routeTable(run.dump, hcm), INBOUND_9080.vhost, INBOUND_9080.route);
      // One action gives the request's address; each address has its bucket.
      expect((at.route as EnvoyJson).rateLimits).toEqual([{ actions: [{ remoteAddress: {} }] }]);
      expect(localPerRoute(at)).toMatchObject({
        descriptors: ['10.0.0.1', '10.0.0.2'].map((ip) => ({
          entries: [{ key: 'remote_address', value: ip }],
          tokenBucket: tokenBucket('1s', 10),
        })),
        responseHeadersToAdd: [{ append: true, header: { key: 'x-limited', value: '1' } }],
        tokenBucket: tokenBucket('1s', 100000),
      });
    }
  });

  it('gives two descriptors with the same match and target two buckets on one route', async () => {
    const r = render(
      smartLimiterYaml(`- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {seconds: 60}, quota: "100"}, condition: "true", target: {port: 9080}}`),
    );
    const [a, b] = r.rules.map((rule) => rule.id);
    const run = await applied('two-descriptors', r);

    for (const hcm of managersWith(run, { inbound: 9080 }, [LOCAL_RATELIMIT])) {
      const at = route(routeTable(run.dump, hcm), INBOUND_9080.vhost, INBOUND_9080.route);
      expect((at.route as EnvoyJson).rateLimits).toEqual([
        { actions: [{ genericKey: { descriptorValue: a } }] },
        { actions: [{ genericKey: { descriptorValue: b } }] },
      ]);
      expect(localPerRoute(at).descriptors).toEqual([
        { entries: [{ key: 'generic_key', value: a }], tokenBucket: tokenBucket('1s', 10) },
        { entries: [{ key: 'generic_key', value: b }], tokenBucket: tokenBucket('60s', 100) },
      ]);
    }
  });

  it('enforces nothing in shadow mode', async () => {
    const r = render(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "5"}, condition: "true", target: {port: 9080}}`,
        ', annotations: {governor.io/shadow: "true"}',
      ),
    );
    const run = await applied('shadow', r);

    for (const hcm of managersWith(run, { inbound: 9080 }, [LOCAL_RATELIMIT])) {
      const at = route(routeTable(run.dump, hcm), INBOUND_9080.vhost, INBOUND_9080.route);
      expect(localPerRoute(at)).toMatchObject({
        descriptors: [
          { entries: [{ key: 'generic_key', value: serviceId }], tokenBucket: tokenBucket('1s', 5) },
        ],
        filterEnabled: { defaultValue: { numerator: 100 }, runtimeKey: 'local_rate_limit_enabled' },
        // protojson leaves out a numerator of 0.
        filterEnforced: { defaultValue: {}, runtimeKey: 'local_rate_limit_enforced' },
      });
    }
  });

  it('denies on rate-limit service failure with governor.io/fail-mode: closed', async () => {
    const r = render(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "5", strategy: global}, condition: "true", target: {port: 9080}}`,
        ', annotations: {governor.io/fail-mode: closed}',
      ),
    );
    const run = await applied('fail-closed', r, [GOVERNOR_MANIFESTS]);
    expect(run.dump.clusters.map((c) => c.name)).toContain(RLS_CLUSTER);

    for (const hcm of managersWith(run, { inbound: 9080 }, [GLOBAL_RATELIMIT])) {
      expect(httpFilterConfig(hcm, GLOBAL_RATELIMIT)).toMatchObject({
        '@type': TYPED_STRUCT,
        typeUrl: GLOBAL_RATELIMIT_TYPE,
        value: {
          domain: 'governor',
          failure_mode_deny: true,
          rate_limit_service: { grpcService: { envoyGrpc: { clusterName: RLS_CLUSTER } } },
        },
      });
      const at = route(routeTable(run.dump, hcm), INBOUND_9080.vhost, INBOUND_9080.route);
      expect((at.route as EnvoyJson).rateLimits).toEqual([
        { actions: [{ genericKey: { descriptorValue: r.rules[0]?.id } }] },
      ]);
      // A global limit's buckets are the rate-limit service's.
      expect(perFilterConfig(at, LOCAL_RATELIMIT)).toBeUndefined();
    }
  });

  it('puts outbound route limits with header and query matchers on the route istiod names', async () => {
    const r = render(smartLimiterYaml(OUTBOUND_DESCRIPTORS));
    const [local, global] = r.rules.map((rule) => rule.id);
    // With Governor's manifests, whose outbound listeners istiod orders differently from push to push:
    // the harness pairs listeners by name, so the order never hides a patch that lands nowhere.
    const run = await harness('outbound', r, [GOVERNOR_MANIFESTS]);
    expectAccepted(run);

    // A host target without a port gives a virtual host named by the host alone, as Slime renders it;
    // istiod names outbound virtual hosts host:port, so that patch lands nowhere (and the exit code says so).
    expect(
      run.dump.unappliedPatches.map(({ index, applyTo, context, match }) => ({
        index,
        applyTo,
        context,
        match,
      })),
    ).toEqual([
      {
        index: 1,
        applyTo: 'VIRTUAL_HOST',
        context: 'SIDECAR_OUTBOUND',
        match: {
          context: 'SIDECAR_OUTBOUND',
          routeConfiguration: { vhost: { name: 'details.default.svc.cluster.local' } },
        },
      },
    ]);
    expect(run.code).toBe(1);

    for (const hcm of managersWith(run, { listenerPort: 9080 }, [GLOBAL_RATELIMIT, LOCAL_RATELIMIT])) {
      expect(httpFilterConfig(hcm, GLOBAL_RATELIMIT)).toMatchObject({
        typeUrl: GLOBAL_RATELIMIT_TYPE,
        value: { rate_limit_service: { grpcService: { envoyGrpc: { clusterName: RLS_CLUSTER } } } },
      });
      const table = routeTable(run.dump, hcm);
      const ratings = route(table, 'ratings.default.svc.cluster.local:9080', 'default');
      expect((ratings.route as EnvoyJson).rateLimits).toEqual([
        {
          actions: [
            {
              queryParameterValueMatch: {
                descriptorValue: local,
                queryParameters: [{ name: 'page', stringMatch: { suffix: '1' } }],
              },
            },
            {
              headerValueMatch: {
                descriptorValue: local,
                headers: [
                  { name: 'x-user', safeRegexMatch: { googleRe2: {}, regex: '^a.*' }, invertMatch: true },
                  { name: 'x-env', presentMatch: true },
                  { name: 'x-empty', exactMatch: '' },
                ],
              },
            },
          ],
        },
      ]);
      expect(localPerRoute(ratings)).toMatchObject({
        descriptors: [
          {
            entries: [
              { key: 'query_match', value: local },
              { key: 'header_match', value: local },
            ],
            tokenBucket: tokenBucket('1s', 10),
          },
        ],
      });
      // The details limit is nowhere, its host:port virtual host included.
      const details = virtualHost(table, 'details.default.svc.cluster.local:9080');
      expect(details.rateLimits).toBeUndefined();
      expect(JSON.stringify(table)).not.toContain(global!);
    }
  });
});
