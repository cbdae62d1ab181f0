/**
 * Every Slime documentation example and conversion fixture, rendered by `governor render` and pushed
 * through istiod's config pipeline (scripts/istio/harness) to a proxy its SmartLimiter selects: the
 * assertions are on the Envoy configuration that proxy would get.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  type HcmPlace,
} from '../support/envoy-config';
import { fixturePath } from '../support/fixtures';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioHarnessRun,
} from '../support/istio-harness';

const LOCAL = 'envoy.filters.http.local_ratelimit';
const GLOBAL = 'envoy.filters.http.ratelimit';
const ROUTER = 'envoy.filters.http.router';
const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const GLOBAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const RLS_CLUSTER = 'outbound|8081||governor-rls.governor-system.svc.cluster.local';
const ENVOY_FILTER_WARNING =
  'EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs ' +
  'if possible, and exercise extreme caution, especially around upgrades.';

const GOVERNOR_MANIFESTS = fileURLToPath(new URL('../../../../deploy/governor.yaml', import.meta.url));

const PRODUCTPAGE = 'default/productpage-v1-7d4f8b6c9-abcde';
const REVIEWS_V1 = 'default/reviews-v1-8f9d7b9c5-k1';
const REVIEWS_V2 = 'default/reviews-v2-6c5bf657cf-k2';
const DETAILS = 'default/details-v1-5f4d584748-fghij';
const INGRESS = 'gateway-system/ingress-gw-0';
const HELLO = 'default/hello';

/**
 * Cluster objects the harness needs beyond the fixtures' contexts, written to the test's directory.
 * The gateway examples name hosts and routes of an Istio Gateway and its VirtualServices, which the
 * fixtures do not carry: these are the ones their route and host targets refer to.
 */
const GENERATED = {
  'gateway-routes.yaml': `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: prod-gateway, namespace: gateway-system}
spec:
  selector: {gw_cluster: prod-gateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.test.com, b.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-test-com, namespace: gateway-system}
spec:
  hosts: [a.test.com]
  gateways: [prod-gateway]
  http:
  - name: r1
    match: [{uri: {prefix: /r1}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
  - name: r2
    route: [{destination: {host: details.default.svc.cluster.local, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b-test-com, namespace: gateway-system}
spec:
  hosts: [b.test.com]
  gateways: [prod-gateway]
  http:
  - name: b
    route: [{destination: {host: reviews.default.svc.cluster.local, port: {number: 9080}}}]
`,
  // The conversion fixture's selector matches no workload of ctx-hello on purpose; a gateway that
  // carries its label, with a route named as its target, is where its patches would land.
  'unmatched-gateway.yaml': `
apiVersion: v1
kind: Pod
metadata: {name: edge-gw-0, namespace: default, labels: {app: not-matched-any-workload}}
spec: {containers: [{name: istio-proxy, image: istio/proxyv2:1.24}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {app: not-matched-any-workload}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [hello.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hello-test-com, namespace: default}
spec:
  hosts: [hello.test.com]
  gateways: [edge]
  http:
  - name: foo
    route: [{destination: {host: hello.default.svc.cluster.local, port: {number: 80}}}]
`,
};

/** Bookinfo with reviews served on port 80, the port doc-b's outbound route names (see its test). */
const bookinfoWithReviewsOn80 = async (): Promise<string> => {
  const text = await readFile(fixturePath('context-bookinfo.yaml'), 'utf8');
  const reviews = 'metadata: {name: reviews, namespace: default, labels: {app: reviews}}';
  const ports = 'ports: [{name: http, port: 9080, targetPort: 9080}]';
  const at = text.indexOf(ports, text.indexOf(reviews));
  if (text.indexOf(reviews) < 0 || at < 0) throw new Error('context-bookinfo.yaml: no reviews Service');
  return `${text.slice(0, at)}ports: [{name: http, port: 80, targetPort: 9080}]${text.slice(at + ports.length)}`;
};

type HarnessInput =
  { fixture: string } | { path: string } | { generated: keyof typeof GENERATED | 'bookinfo-reviews-80.yaml' };

interface Limit {
  /** The virtual host, and the route unless the limit is on the whole virtual host. */
  vhost: string;
  route?: string;
  /** The route's (or virtual host's) `rate_limits` actions. */
  actions: EnvoyJson[];
  /** The local rate limit's descriptors; none for a global limit. */
  descriptors?: EnvoyJson[];
  /** Other fields expected in the local rate limit's per-route config. */
  perRoute?: EnvoyJson;
}

interface FixtureCase {
  name: string;
  render: string[];
  harness: HarnessInput[];
  proxy: string;
  gateway?: boolean;
  at: HcmPlace;
  filter: typeof LOCAL | typeof GLOBAL;
  limit: Limit;
}

/** Descriptor ids are Governor's hashes: matched by the service they are for. */
const idOf = (service: string) =>
  expect.stringMatching(new RegExp(`^Service\\[${service.replaceAll('.', '\\.')}\\]-Id\\[\\d+\\]$`));
const bucket = (fillInterval: string, tokens: number) => ({
  fillInterval,
  maxTokens: tokens,
  tokensPerFill: tokens,
});
const genericKey = (service: string, fillInterval: string, tokens: number) => ({
  actions: [{ genericKey: { descriptorValue: idOf(service) } }],
  descriptors: [
    { entries: [{ key: 'generic_key', value: idOf(service) }], tokenBucket: bucket(fillInterval, tokens) },
  ],
});

const bookinfo: HarnessInput = { fixture: 'context-bookinfo.yaml' };
const hello: HarnessInput = { fixture: 'conversion/ctx-hello.yaml' };
const inbound9080 = { vhost: 'inbound|http|9080', route: 'default' };
const helloInbound = { vhost: 'inbound|http|80', route: 'default' };

const CASES: FixtureCase[] = [
  {
    name: 'doc-a-single-inbound',
    render: ['-f', 'doc-a-single-inbound.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo],
    proxy: REVIEWS_V1,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: { ...inbound9080, ...genericKey('reviews.default', '60s', 100) },
  },
  {
    name: 'doc-b-outbound-route',
    render: ['-f', 'doc-b-outbound-route.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [{ generated: 'bookinfo-reviews-80.yaml' }],
    proxy: PRODUCTPAGE,
    at: { listenerPort: 80 },
    filter: LOCAL,
    limit: {
      vhost: 'reviews.default.svc.cluster.local:80',
      route: 'default',
      ...genericKey('productpage.default', '10s', 2),
    },
  },
  {
    name: 'doc-c-header-match',
    render: ['-f', 'doc-c-header-match.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo],
    proxy: PRODUCTPAGE,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: {
      ...inbound9080,
      actions: [
        {
          headerValueMatch: {
            descriptorValue: idOf('productpage.default'),
            headers: [{ name: 'foo', exactMatch: 'bar' }],
          },
        },
      ],
      descriptors: [
        {
          entries: [{ key: 'header_match', value: idOf('productpage.default') }],
          tokenBucket: bucket('60s', 5),
        },
      ],
    },
  },
  {
    // 100 shared by Bookinfo's one productpage Pod.
    name: 'doc-d-average',
    render: ['-f', 'doc-d-average.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo],
    proxy: PRODUCTPAGE,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: { ...inbound9080, ...genericKey('productpage.default', '60s', 100) },
  },
  {
    // Governor's own manifests give the proxy the rate-limit service's cluster.
    name: 'doc-e-global',
    render: ['-f', 'doc-e-global.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo, { path: GOVERNOR_MANIFESTS }],
    proxy: PRODUCTPAGE,
    at: { inbound: 9080 },
    filter: GLOBAL,
    limit: { ...inbound9080, actions: [{ genericKey: { descriptorValue: idOf('productpage.default') } }] },
  },
  {
    name: 'doc-f-gateway-route',
    render: ['-f', 'doc-f-gateway-route.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo, { generated: 'gateway-routes.yaml' }],
    proxy: INGRESS,
    gateway: true,
    at: { listenerPort: 80 },
    filter: LOCAL,
    limit: { vhost: 'a.test.com:80', route: 'r1', ...genericKey('prod-gateway-1.gateway-system', '60s', 1) },
  },
  {
    name: 'doc-g-gateway-host',
    render: ['-f', 'doc-g-gateway-host.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo, { generated: 'gateway-routes.yaml' }],
    proxy: INGRESS,
    gateway: true,
    at: { listenerPort: 80 },
    filter: LOCAL,
    limit: { vhost: 'b.test.com:80', ...genericKey('prod-gateway-2.gateway-system', '60s', 2) },
  },
  {
    // The Service `review` selects the reviews Pods.
    name: 'doc-h-adaptive-cpu',
    render: ['-f', 'doc-h-adaptive-cpu.yaml', '-f', 'context-bookinfo.yaml', '--metric', '_base.cpu.sum=85'],
    harness: [bookinfo],
    proxy: REVIEWS_V1,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: { ...inbound9080, ...genericKey('review.default', '1s', 10) },
  },
  {
    name: 'doc-i-subset-v2',
    render: ['-f', 'doc-i-subset-v2.yaml', '-f', 'context-bookinfo.yaml', '--metric', 'v2.cpu.sum=85'],
    harness: [bookinfo],
    proxy: REVIEWS_V2,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: { ...inbound9080, ...genericKey('reviews.default', '60s', 1) },
  },
  {
    name: 'doc-j-source-ip-headers-to-add',
    render: ['-f', 'doc-j-source-ip-headers-to-add.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo],
    proxy: DETAILS,
    at: { inbound: 9080 },
    filter: LOCAL,
    limit: {
      ...inbound9080,
      actions: [{ remoteAddress: {} }],
      descriptors: [
        { entries: [{ key: 'remote_address', value: '10.244.0.10' }], tokenBucket: bucket('1s', 10) },
      ],
      perRoute: { responseHeadersToAdd: [{ append: true, header: { key: 'a', value: 'b' } }] },
    },
  },
  {
    name: 'conversion/limit_by_method',
    render: ['-f', 'conversion/limit_by_method.local.yaml', '-f', 'conversion/ctx-hello.yaml'],
    harness: [hello],
    proxy: HELLO,
    at: { inbound: 80 },
    filter: LOCAL,
    limit: {
      ...helloInbound,
      actions: [
        {
          headerValueMatch: {
            descriptorValue: idOf('hello.default'),
            headers: [{ name: ':method', exactMatch: 'GET' }],
          },
        },
      ],
      descriptors: [
        { entries: [{ key: 'header_match', value: idOf('hello.default') }], tokenBucket: bucket('1s', 10) },
      ],
    },
  },
  {
    name: 'conversion/limit_by_query',
    render: ['-f', 'conversion/limit_by_query.local.yaml', '-f', 'conversion/ctx-hello.yaml'],
    harness: [hello],
    proxy: HELLO,
    at: { inbound: 80 },
    filter: LOCAL,
    limit: {
      ...helloInbound,
      actions: [
        {
          queryParameterValueMatch: {
            descriptorValue: idOf('hello.default'),
            queryParameters: [{ name: 'foo', stringMatch: { prefix: 'bar' } }],
          },
        },
      ],
      descriptors: [
        { entries: [{ key: 'query_match', value: idOf('hello.default') }], tokenBucket: bucket('1s', 10) },
      ],
    },
  },
  {
    // No workloadSelector: the Service's selector picks the Pods.
    name: 'conversion/limit_by_sourceIP',
    render: ['-f', 'conversion/limit_by_sourceIP.local.yaml', '-f', 'conversion/ctx-hello.yaml'],
    harness: [hello],
    proxy: HELLO,
    at: { inbound: 80 },
    filter: LOCAL,
    limit: {
      ...helloInbound,
      actions: [{ remoteAddress: {} }],
      descriptors: [
        { entries: [{ key: 'remote_address', value: '10.0.0.1' }], tokenBucket: bucket('1s', 10) },
      ],
    },
  },
  {
    name: 'conversion/limit_outbound_with_mismatch_selector',
    render: [
      '-f',
      'conversion/limit_outbound_with_mismatch_selector.local.yaml',
      '-f',
      'conversion/ctx-hello.yaml',
    ],
    harness: [hello, { generated: 'unmatched-gateway.yaml' }],
    proxy: 'default/edge-gw-0',
    gateway: true,
    at: { listenerPort: 80 },
    filter: LOCAL,
    limit: {
      vhost: 'hello.test.com:80',
      route: 'foo',
      ...genericKey('withselector-missing-match-workload.default', '60s', 50),
    },
  },
];

describe('Slime examples rendered by Governor, through istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-fixtures-'));
    for (const [name, text] of Object.entries(GENERATED)) await writeFile(join(dir, name), text);
    await writeFile(join(dir, 'bookinfo-reviews-80.yaml'), await bookinfoWithReviewsOn80());
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
    const files = inputs.map((i) =>
      'fixture' in i ? fixturePath(i.fixture) : 'path' in i ? i.path : join(dir, i.generated),
    );
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

  it("doc-b: with Bookinfo's reviews on 9080, its route to reviews:80 matches nothing", async () => {
    const rendered = await render(['-f', 'doc-b-outbound-route.yaml', '-f', 'context-bookinfo.yaml']);
    const { code, dump } = await harness('doc-b-9080', rendered, [bookinfo], PRODUCTPAGE);
    expect(code).toBe(1);
    expect(dump.unappliedPatches.map((p) => [p.index, p.applyTo, p.context])).toEqual([
      [0, 'HTTP_ROUTE', 'SIDECAR_OUTBOUND'],
      [2, 'HTTP_ROUTE', 'SIDECAR_OUTBOUND'],
    ]);
  });

  it('doc-i: the v2 limit leaves the reviews v1 proxy alone', async () => {
    const rendered = await render([
      '-f',
      'doc-i-subset-v2.yaml',
      '-f',
      'context-bookinfo.yaml',
      '--metric',
      'v2.cpu.sum=85',
    ]);
    const { dump } = await harness('doc-i-v1', rendered, [bookinfo], REVIEWS_V1);
    expect(dump.unselectedEnvoyFilters).toEqual(['default/reviews.default.v2.ratelimit']);
    for (const hcm of httpConnectionManagers(dump, { inbound: 9080 }))
      expect(httpFilterNames(hcm)).not.toContain(LOCAL);
  });

  it('conversion/limit_outbound_with_mismatch_selector: ctx-hello has no proxy it selects', async () => {
    const rendered = await render([
      '-f',
      'conversion/limit_outbound_with_mismatch_selector.local.yaml',
      '-f',
      'conversion/ctx-hello.yaml',
    ]);
    const { dump } = await harness('mismatch-hello', rendered, [hello], HELLO, true);
    expect(dump.unselectedEnvoyFilters).toEqual([
      'default/withselector-missing-match-workload.default.ratelimit',
    ]);
  });
});
