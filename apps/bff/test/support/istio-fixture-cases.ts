/**
 * The Slime examples and conversion fixtures that go through istiod (scripts/istio/harness): what
 * `governor render` is given for each, the cluster objects the harness gets beside the render, the proxy,
 * and where the limit should land. Shared by the tests that check the pushed configuration and the ones
 * that check Governor's own explanation of where each patch lands.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { EnvoyJson } from './istio-harness';
import type { HcmPlace } from './envoy-config';
import { fixturePath } from './fixtures';

export const LOCAL = 'envoy.filters.http.local_ratelimit';
export const GLOBAL = 'envoy.filters.http.ratelimit';
export const GOVERNOR_MANIFESTS = fileURLToPath(new URL('../../../../deploy/governor.yaml', import.meta.url));

export const PRODUCTPAGE = 'default/productpage-v1-7d4f8b6c9-abcde';
export const REVIEWS_V1 = 'default/reviews-v1-8f9d7b9c5-k1';
export const REVIEWS_V2 = 'default/reviews-v2-6c5bf657cf-k2';
export const DETAILS = 'default/details-v1-5f4d584748-fghij';
export const INGRESS = 'gateway-system/ingress-gw-0';
export const HELLO = 'default/hello';

/**
 * Cluster objects the harness needs beyond the fixtures' contexts, written to the test's directory.
 * The gateway examples name hosts and routes of an Istio Gateway and its VirtualServices, which the
 * fixtures do not carry: these are the ones their route and host targets refer to.
 */
export const GENERATED = {
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
export const bookinfoWithReviewsOn80 = async (): Promise<string> => {
  const text = await readFile(fixturePath('context-bookinfo.yaml'), 'utf8');
  const reviews = 'metadata: {name: reviews, namespace: default, labels: {app: reviews}}';
  const ports = 'ports: [{name: http, port: 9080, targetPort: 9080}]';
  const at = text.indexOf(ports, text.indexOf(reviews));
  if (text.indexOf(reviews) < 0 || at < 0) throw new Error('context-bookinfo.yaml: no reviews Service');
  return `${text.slice(0, at)}ports: [{name: http, port: 80, targetPort: 9080}]${text.slice(at + ports.length)}`;
};

export type HarnessInput =
  { fixture: string } | { path: string } | { generated: keyof typeof GENERATED | 'bookinfo-reviews-80.yaml' };

export interface Limit {
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

export interface FixtureCase {
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
export const idOf = (service: string) =>
  expect.stringMatching(new RegExp(`^Service\\[${service.replaceAll('.', '\\.')}\\]-Id\\[\\d+\\]$`));
export const bucket = (fillInterval: string, tokens: number) => ({
  fillInterval,
  maxTokens: tokens,
  tokensPerFill: tokens,
});
export const genericKey = (service: string, fillInterval: string, tokens: number) => ({
  actions: [{ genericKey: { descriptorValue: idOf(service) } }],
  descriptors: [
    { entries: [{ key: 'generic_key', value: idOf(service) }], tokenBucket: bucket(fillInterval, tokens) },
  ],
});

export const bookinfo: HarnessInput = { fixture: 'context-bookinfo.yaml' };
export const hello: HarnessInput = { fixture: 'conversion/ctx-hello.yaml' };
const inbound9080 = { vhost: 'inbound|http|9080', route: 'default' };
const helloInbound = { vhost: 'inbound|http|80', route: 'default' };

export const CASES: FixtureCase[] = [
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

/**
 * Renders whose patches, on purpose, land nowhere on the proxy: doc-b over Bookinfo's reviews on 9080
 * (its routes name reviews:80), doc-i's v2 limit seen from reviews v1, and the conversion fixture whose
 * selector misses ctx-hello's one Pod.
 */
export interface MissCase {
  name: string;
  render: string[];
  harness: HarnessInput[];
  proxy: string;
  gateway?: boolean;
}

export const MISS_CASES: MissCase[] = [
  {
    name: 'doc-b-9080',
    render: ['-f', 'doc-b-outbound-route.yaml', '-f', 'context-bookinfo.yaml'],
    harness: [bookinfo],
    proxy: PRODUCTPAGE,
  },
  {
    name: 'doc-i-v1',
    render: ['-f', 'doc-i-subset-v2.yaml', '-f', 'context-bookinfo.yaml', '--metric', 'v2.cpu.sum=85'],
    harness: [bookinfo],
    proxy: REVIEWS_V1,
  },
  {
    name: 'mismatch-hello',
    render: [
      '-f',
      'conversion/limit_outbound_with_mismatch_selector.local.yaml',
      '-f',
      'conversion/ctx-hello.yaml',
    ],
    harness: [hello],
    proxy: HELLO,
    gateway: true,
  },
];

export const missCase = (name: string): MissCase => {
  const found = MISS_CASES.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no case ${name}`);
  return found;
};

/** Writes the generated inputs into `dir`, where `harnessInputPath` finds them. */
export async function writeHarnessInputs(dir: string): Promise<void> {
  for (const [name, text] of Object.entries(GENERATED)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'bookinfo-reviews-80.yaml'), await bookinfoWithReviewsOn80());
}

/** The file of one input; generated ones are in `dir` (see `writeHarnessInputs`). */
export const harnessInputPath = (dir: string, input: HarnessInput): string =>
  'fixture' in input ? fixturePath(input.fixture) : 'path' in input ? input.path : join(dir, input.generated);
