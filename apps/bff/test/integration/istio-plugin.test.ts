/**
 * PluginManagers and EnvoyPlugins rendered by `governor render` and pushed through istiod's config pipeline
 * (scripts/istio/harness): Slime's gateway fixtures on an ingress gateway, and the sidecar forms on
 * Bookinfo. The assertions are on the Envoy configuration the proxy gets: the filters in its connection
 * managers, the per-filter and direct settings on its route configurations, virtual hosts and routes,
 * and Governor's explanation of where each patch lands against istiod's.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { explainEnvoyFilters } from '../../src/istio/explain';
import type { PatchPlace } from '../../src/istio/explain-types';
import type { KubeObject } from '../../src/istio/proxy-model';
import { runCli } from '../support/cli';
import {
  ENVOY_FILTER_WARNING,
  httpConnectionManagers,
  httpFilterNames,
  perFilterConfig,
  route,
  routeTable,
  ROUTER,
  TYPED_STRUCT,
  virtualHost,
  type HcmPlace,
} from '../support/envoy-config';
import { fixturePath } from '../support/fixtures';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioDump,
} from '../support/istio-harness';

const FAULT = 'envoy.filters.http.fault';
const RBAC = 'envoy.filters.http.rbac';
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const WASM_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
const PRODUCTPAGE = 'default/productpage-v1-7d4f8b6c9-abcde';
const REVIEWS_V1 = 'default/reviews-v1-8f9d7b9c5-k1';
const GATEWAY = 'default/ingress-0';
const REVIEWS_VHOST = 'reviews.default.svc.cluster.local:9080';
const EMPTY_SELECTOR_WARNING =
  'Envoy filter: workload selector specified without labels, will be applied to all services in namespace';

/**
 * Slime's fixtures are EnvoyFilters of `default` selecting every workload there: a gateway in `default`
 * with an HTTP server on port 80 (`http.80`) and a VirtualService giving it a virtual host and a route.
 */
const GATEWAY_MESH = `
apiVersion: v1
kind: Pod
metadata: {name: ingress-0, namespace: default, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: istio/proxyv2:1.24}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-test-com, namespace: default}
spec:
  hosts: [a.test.com]
  gateways: [web]
  http:
  - name: r1
    match: [{uri: {prefix: /r1}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
`;

const GATEWAY_EP = `
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: gateway-host-route, namespace: default}
spec:
  workload_selector: {labels: {istio: ingressgateway}}
  host: [a.test.com]
  route: [a.test.com:80/r1]
  plugins:
  - name: envoy.filters.http.fault
    enable: true
    listenerType: Gateway
    type_url: ${FAULT_TYPE}
    inline: {settings: {delay: {fixed_delay: 2s, percentage: {numerator: 50}}}}
`;

const INBOUND_PM = `
apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: {name: reviews-inbound, namespace: default}
spec:
  workload_labels: {app: reviews}
  plugin:
  - name: envoy.filters.http.fault
    enable: true
    listenerType: Inbound
    port: 9080
    type_url: ${FAULT_TYPE}
    disable_on_filter_level: true
    inline: {settings: {abort: {http_status: 503, percentage: {numerator: 10}}}}
  - name: envoy.filters.http.rbac
    enable: true
    listenerType: Inbound
    port: 9080
    type_url: ${RBAC_TYPE}
    inline: {settings: {}}
`;

const OUTBOUND_PM = `
apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: {name: productpage-outbound, namespace: default}
spec:
  workload_labels: {app: productpage}
  plugin:
  - name: envoy.filters.http.fault
    enable: true
    port: 9080
    type_url: ${FAULT_TYPE}
    inline: {settings: {delay: {fixed_delay: 1s, percentage: {numerator: 5}}}}
`;

const WASM_PM = `
apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: {name: productpage-wasm, namespace: default}
spec:
  workload_labels: {app: productpage}
  plugin:
  - name: auth
    enable: true
    port: 9080
    wasm:
      url: oci://registry.example/auth:1.0
      plugin_name: auth
      settings: {realm: mesh}
      failStrategy: FAIL_OPEN
  - name: audit
    enable: true
    port: 9080
    wasm: {url: oci://registry.example/audit:1.0, plugin_name: audit}
`;

const ROUTE_EP = `
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: productpage-routes, namespace: default}
spec:
  workload_selector: {labels: {app: productpage}}
  listener:
  - {port: 9080, sidecar: true}
  route: [${REVIEWS_VHOST}/default]
  plugins:
  - name: envoy.filters.http.fault
    enable: true
    type_url: ${FAULT_TYPE}
    inline: {settings: {abort: {http_status: 429, percentage: {numerator: 30}}}}
`;

const VHOST_EP = `
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: productpage-vhost, namespace: default}
spec:
  workload_selector: {labels: {app: productpage}}
  host: [reviews.default.svc.cluster.local]
  plugins:
  - name: envoy.filters.http.fault
    enable: true
    type_url: ${FAULT_TYPE}
    inline: {settings: {abort: {http_status: 429, percentage: {numerator: 30}}}}
`;

const INBOUND_VHOST_EP = `
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: reviews-inbound-vhost, namespace: default}
spec:
  workload_selector: {labels: {app: reviews}}
  host: [inbound|http|9080]
  plugins:
  - name: envoy.filters.http.fault
    enable: true
    type_url: ${FAULT_TYPE}
    inline: {settings: {abort: {http_status: 503, percentage: {numerator: 10}}}}
`;

const RATE_LIMITS = [{ actions: [{ generic_key: { descriptor_value: 'pp' } }] }];
const CORS = { allow_origin_string_match: [{ exact: 'https://a.test' }] };

const DIRECT_EP = `
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: direct-vhost, namespace: default}
spec:
  workload_selector: {labels: {app: productpage}}
  host: [ratings.default.svc.cluster.local:9080]
  plugins:
  - name: envoy.filters.http.ratelimit
    enable: true
    inline: {settings: {rate_limits: ${JSON.stringify(RATE_LIMITS)}}}
  - name: envoy.filters.http.cors
    enable: true
    inline: {settings: {cors: ${JSON.stringify(CORS)}}}
  - name: attempts
    enable: true
    inline: {directPatch: true, fieldPatchTo: ROOT, settings: {include_attempt_count_in_response: true}}
---
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: direct-route, namespace: default}
spec:
  workload_selector: {labels: {app: productpage}}
  route: [details.default.svc.cluster.local:9080/default]
  plugins:
  - name: envoy.filters.http.ratelimit
    enable: true
    inline: {settings: {rate_limits: ${JSON.stringify(RATE_LIMITS)}}}
  - name: envoy.filters.http.cors
    enable: true
    inline: {settings: {cors: ${JSON.stringify(CORS)}}}
  - name: timeouts
    enable: true
    inline: {directPatch: true, fieldPatchTo: route, settings: {timeout: 3s}}
`;

/** protojson's names for the snake_case settings above, as the pushed route holds them. */
const RATE_LIMITS_JSON = [{ actions: [{ genericKey: { descriptorValue: 'pp' } }] }];
const CORS_JSON = { allowOriginStringMatch: [{ exact: 'https://a.test' }] };

interface PluginCase {
  name: string;
  /** Slime fixture names, or YAML text written to the test's directory. */
  sources: (string | { text: string })[];
  /** Cluster objects beside Bookinfo. */
  mesh?: string;
  proxy: string;
  gateway?: boolean;
  /** `namespace/name#index` of the patches istiod applies nowhere: findings, each with its reason. */
  unapplied?: string[];
  /** Typed configs the harness cannot validate, each with its reason. */
  unchecked?: string[];
  /** Istio's validation warnings beside the one every EnvoyFilter gets. */
  warnings?: string[];
  check: (dump: IstioDump) => void;
}

/** The HTTP filters of each connection manager at `place` end with `filters`, then the router. */
function expectBeforeRouter(dump: IstioDump, place: HcmPlace, filters: EnvoyJson[]): EnvoyJson[] {
  const managers = httpConnectionManagers(dump, place);
  for (const hcm of managers) {
    const all = (hcm.httpFilters ?? []) as EnvoyJson[];
    expect(all.at(-1)?.name, httpFilterNames(hcm).join(', ')).toBe(ROUTER);
    expect(all.slice(-1 - filters.length, -1), httpFilterNames(hcm).join(', ')).toEqual(filters);
  }
  return managers;
}

const typedStruct = (typeUrl: string, value: EnvoyJson): EnvoyJson => ({
  '@type': TYPED_STRUCT,
  ...(typeUrl !== '' ? { typeUrl } : {}),
  value,
});

const FIXTURE_ABORT = { abort: { http_status: 429, percentage: { denominator: 'HUNDRED', numerator: 30 } } };
const ABORT_429 = typedStruct(FAULT_TYPE, { abort: { http_status: 429, percentage: { numerator: 30 } } });
const ABORT_503 = typedStruct(FAULT_TYPE, { abort: { http_status: 503, percentage: { numerator: 10 } } });

/** A route configuration of the dump, by name. */
const routeConfiguration = (dump: IstioDump, name: string): EnvoyJson => {
  const found = dump.routes.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no route configuration ${name}`);
  return found;
};

const CASES: PluginCase[] = [
  {
    name: 'gateway_sample.plm: fault and rbac, disabled, before the router of port 80',
    sources: ['plugin/gateway_sample.plm.yaml'],
    mesh: GATEWAY_MESH,
    proxy: GATEWAY,
    gateway: true,
    // Slime's `type_url: ""`: Envoy is left to find the filter by its name, so the harness has no type.
    unchecked: [''],
    // The fixture's `workloadSelector: {}`, kept as Slime renders it.
    warnings: [EMPTY_SELECTOR_WARNING],
    check: (dump) => {
      expectBeforeRouter(dump, { listenerPort: 80 }, [
        { name: FAULT, typedConfig: typedStruct('', {}), disabled: true },
        { name: RBAC, typedConfig: typedStruct('', {}), disabled: true },
      ]);
    },
  },
  {
    name: 'gateway_rc_patch.ep: the abort on route configuration http.80',
    sources: ['plugin/gateway_rc_patch.ep.yaml'],
    mesh: GATEWAY_MESH,
    proxy: GATEWAY,
    gateway: true,
    unchecked: [''],
    check: (dump) => {
      const [hcm] = httpConnectionManagers(dump, { listenerPort: 80 });
      const table = routeTable(dump, hcm!) as EnvoyJson;
      expect(table.name).toBe('http.80');
      expect(perFilterConfig(table, FAULT)).toEqual(typedStruct('', FIXTURE_ABORT));
      const vhost = virtualHost(table, 'a.test.com:80');
      expect(perFilterConfig(vhost, FAULT)).toBeUndefined();
      expect(perFilterConfig(route(table, 'a.test.com:80', 'r1'), FAULT)).toBeUndefined();
    },
  },
  {
    name: "gateway EnvoyPlugin: a route by name; a host without port becomes '<host>:*'",
    sources: [{ text: GATEWAY_EP }],
    mesh: GATEWAY_MESH,
    proxy: GATEWAY,
    gateway: true,
    // istiod matches a virtual host by its whole name: Slime's `a.test.com:*` names none.
    unapplied: ['default/gateway-host-route#0'],
    check: (dump) => {
      const table = routeConfiguration(dump, 'http.80');
      const delay = typedStruct(FAULT_TYPE, { delay: { fixed_delay: '2s', percentage: { numerator: 50 } } });
      expect(perFilterConfig(route(table, 'a.test.com:80', 'r1'), FAULT)).toEqual(delay);
      expect(perFilterConfig(virtualHost(table, 'a.test.com:80'), FAULT)).toBeUndefined();
    },
  },
  {
    name: 'inbound PluginManager on reviews: fault disabled, then rbac, before the router',
    sources: [{ text: INBOUND_PM }],
    proxy: REVIEWS_V1,
    check: (dump) => {
      expectBeforeRouter(dump, { inbound: 9080 }, [
        { name: FAULT, typedConfig: ABORT_503, disabled: true },
        { name: RBAC, typedConfig: typedStruct(RBAC_TYPE, {}) },
      ]);
    },
  },
  {
    name: 'inbound EnvoyPlugin on reviews: the inbound|http|9080 virtual host, in any context',
    sources: [{ text: INBOUND_VHOST_EP }],
    proxy: REVIEWS_V1,
    check: (dump) => {
      for (const hcm of httpConnectionManagers(dump, { inbound: 9080 }))
        expect(perFilterConfig(virtualHost(routeTable(dump, hcm), 'inbound|http|9080'), FAULT)).toEqual(
          ABORT_503,
        );
    },
  },
  {
    name: "outbound PluginManager on productpage: the fault before the router of port 9080's listener",
    sources: [{ text: OUTBOUND_PM }],
    proxy: PRODUCTPAGE,
    check: (dump) => {
      const delay = typedStruct(FAULT_TYPE, { delay: { fixed_delay: '1s', percentage: { numerator: 5 } } });
      expectBeforeRouter(dump, { listenerPort: 9080 }, [{ name: FAULT, typedConfig: delay }]);
    },
  },
  {
    name: 'wasm PluginManager: filters found by config discovery, RBAC failing open or closed until loaded',
    sources: [{ text: WASM_PM }],
    proxy: PRODUCTPAGE,
    // The harness compares listeners, routes and clusters; the extension config goes out over ECDS.
    unapplied: ['default/productpage-wasm#0', 'default/productpage-wasm#2'],
    check: (dump) => {
      expectBeforeRouter(dump, { listenerPort: 9080 }, [
        {
          name: 'default.auth',
          configDiscovery: {
            configSource: { ads: {} },
            defaultConfig: { '@type': RBAC_TYPE },
            applyDefaultConfigWithoutWarming: true,
            typeUrls: [WASM_TYPE, RBAC_TYPE],
          },
        },
        {
          name: 'default.audit',
          configDiscovery: {
            configSource: { ads: {} },
            // No rules: every request denied (403) while the module is missing.
            defaultConfig: { '@type': RBAC_TYPE, rules: {} },
            applyDefaultConfigWithoutWarming: true,
            typeUrls: [WASM_TYPE, RBAC_TYPE],
          },
        },
      ]);
    },
  },
  {
    name: 'outbound EnvoyPlugin: route configuration 9080 and the reviews route by host and name',
    sources: [{ text: ROUTE_EP }],
    proxy: PRODUCTPAGE,
    check: (dump) => {
      const table = routeConfiguration(dump, '9080');
      expect(perFilterConfig(table, FAULT)).toEqual(ABORT_429);
      expect(perFilterConfig(route(table, REVIEWS_VHOST, 'default'), FAULT)).toEqual(ABORT_429);
      expect(perFilterConfig(virtualHost(table, REVIEWS_VHOST), FAULT)).toBeUndefined();
    },
  },
  {
    name: "outbound EnvoyPlugin on a host without port: '<host>:*'",
    sources: [{ text: VHOST_EP }],
    proxy: PRODUCTPAGE,
    // As on the gateway: istiod has no virtual host `reviews.default.svc.cluster.local:*`.
    unapplied: ['default/productpage-vhost#0'],
    check: (dump) => {
      const table = routeConfiguration(dump, '9080');
      for (const v of table.virtualHosts as EnvoyJson[]) expect(perFilterConfig(v, FAULT)).toBeUndefined();
    },
  },
  {
    name: 'direct patches: rate limits, CORS and ROOT on a virtual host; rate limits, CORS, a timeout on a route',
    sources: [{ text: DIRECT_EP }],
    proxy: PRODUCTPAGE,
    check: (dump) => {
      const table = routeConfiguration(dump, '9080');
      const ratings = virtualHost(table, 'ratings.default.svc.cluster.local:9080');
      expect(ratings).toMatchObject({
        rateLimits: RATE_LIMITS_JSON,
        cors: CORS_JSON,
        includeAttemptCountInResponse: true,
      });
      const details = route(table, 'details.default.svc.cluster.local:9080', 'default');
      expect(details.route).toMatchObject({ rateLimits: RATE_LIMITS_JSON, cors: CORS_JSON, timeout: '3s' });
    },
  },
];

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

/** Governor's explanation says what istiod does: the same EnvoyFilters selected, each patch's places. */
function expectIstiodPlaces(
  objects: KubeObject[],
  envoyFilters: KubeObject[],
  c: PluginCase,
  dump: IstioDump,
) {
  const [namespace, name] = c.proxy.split('/') as [string, string];
  const explained = explainEnvoyFilters({
    objects,
    envoyFilters,
    proxy: { namespace, name },
    gateway: c.gateway ?? false,
  });
  expect(explained.unselected).toEqual(dump.unselectedEnvoyFilters);
  const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
  const istiod = new Map<string, PatchPlace[]>([
    ...dump.appliedPatches.map((p): [string, PatchPlace[]] => [key(p), p.places]),
    ...dump.unappliedPatches.map((p): [string, PatchPlace[]] => [key(p), []]),
  ]);
  expect(explained.patches.map(key).sort()).toEqual([...istiod.keys()].sort());
  for (const p of explained.patches)
    expect(p.places, `${key(p)} ${p.applyTo} ${p.operation}: ${p.reason ?? ''}`).toEqual(istiod.get(key(p)));
}

describe('PluginManagers and EnvoyPlugins rendered by Governor, through istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-plugin-'));
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('$name', async (c) => {
    const base = join(dir, c.name.replaceAll(/[^a-z0-9]+/gi, '-'));
    const args: string[] = [];
    for (const [i, s] of c.sources.entries()) {
      const file = typeof s === 'string' ? fixturePath(s) : `${base}.${i}.yaml`;
      if (typeof s !== 'string') await writeFile(file, s.text);
      args.push('-f', file);
    }
    const out = await runCli(['render', ...args]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const rendered = yamlObjects(out.stdout);
    expect(rendered.map((o) => o.kind)).toEqual(rendered.map(() => 'EnvoyFilter'));
    await writeFile(`${base}.rendered.yaml`, out.stdout);
    const files = [`${base}.rendered.yaml`, fixturePath('context-bookinfo.yaml')];
    if (c.mesh !== undefined) {
      await writeFile(`${base}.mesh.yaml`, c.mesh);
      files.push(`${base}.mesh.yaml`);
    }
    const { code, dump, stderr } = await runIstioHarness(files, c.proxy, { gateway: c.gateway ?? false });

    const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
    expect(dump.unappliedPatches.map(key)).toEqual(c.unapplied ?? []);
    expect(dump.unselectedEnvoyFilters).toEqual([]);
    expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
    // Istio joins an object's warnings into one string.
    const warnings = dump.validation.flatMap((v) => v.warnings.flatMap((w) => w.split('\n')));
    const others = warnings.flatMap(
      (w) => w.match(/^\t\* (.*)$/)?.[1] ?? (/^\d+ errors? occurred:$|^$/.test(w) ? [] : w),
    );
    expect(others.filter((w) => w !== ENVOY_FILTER_WARNING)).toEqual(c.warnings ?? []);
    expect(dump.envoyValidation).toEqual([]);
    expect(dump.envoyUncheckedTypes).toEqual(c.unchecked ?? []);
    expect(code, stderr).toBe(c.unapplied === undefined ? 0 : 1);
    c.check(dump);

    const objects = (await Promise.all(files.slice(1).map((f) => readFile(f, 'utf8')))).flatMap(yamlObjects);
    expectIstiodPlaces(objects, rendered, c, dump);
  });
});
