import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { EnvoyFilter, SmartLimiter } from '@governor/crd-types';
import {
  contextOf,
  fixturePath,
  loadObjects,
  namedSmartLimiterYaml,
  onlyLimiter,
  OUTBOUND_DESCRIPTORS,
  slimeFixturesDir,
  smartLimiterYaml,
  SOURCE_ADDRESS_DESCRIPTORS,
} from '../../../../test/support/fixtures';
import { renderSmartLimiter, type RenderResult } from './render';
import { metricSetsOf } from './workload';
import { formatProblem } from './status';

const bookinfo = loadObjects('context-bookinfo.yaml');
const ctx = contextOf(bookinfo);

function renderFixture(name: string, metrics: Record<string, number | string> = {}): RenderResult {
  return renderSmartLimiter({ limiter: onlyLimiter(loadObjects(name)), context: ctx, metrics });
}

function renderYaml(
  yaml: string,
  metrics: Record<string, number | string> = {},
  context = ctx,
): RenderResult {
  return renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: yaml })), context, metrics });
}

const problems = (r: RenderResult) => r.problems.map(formatProblem);

/* ---------- normalisation for comparing with Slime's output ---------- */

const camel = (k: string) =>
  /^[a-z][a-z0-9_]*$/.test(k) ? k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : k;

/**
 * Slime's output modulo what the comparison is allowed to differ in: key casing (protojson accepts both),
 * duration format ({seconds: "60"} vs "60s"), the wrapper form of tokens_per_fill, and descriptor ids
 * (numbered in order of appearance, so that references between patches still have to agree).
 */
function normalize(value: unknown, ids = new Map<string, string>()): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, ids));
  if (typeof value === 'string') {
    return value.replace(/Service\[([^\]]+)\]-(?:User\[none\]-)?Id\[\d+\]/g, (m, svc: string) => {
      if (!ids.has(m)) ids.set(m, `Service[${svc}]-Id[#${ids.size + 1}]`);
      return ids.get(m) ?? m;
    });
  }
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.every((k) => k === 'seconds' || k === 'nanos') && 'seconds' in o) {
      return `${Number(o.seconds)}s`;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys.sort()) {
      let v = o[k];
      if (camel(k) === 'tokensPerFill' && typeof v === 'object' && v !== null && 'value' in v)
        v = (v as { value: unknown }).value;
      out[camel(k)] = normalize(v, ids);
    }
    return out;
  }
  return value;
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/* ---------- tests ---------- */

describe('renderSmartLimiter: Slime documentation examples', () => {
  const docs = readdirSync(slimeFixturesDir)
    .filter((f) => /^doc-.*\.yaml$/.test(f))
    .sort();
  const metricsFor: Record<string, Record<string, number>> = {
    'doc-h-adaptive-cpu.yaml': { '_base.cpu.sum': 85 },
    'doc-i-subset-v2.yaml': { 'v2.cpu.sum': 85 },
  };

  // What istiod and Envoy make of them: test/integration/istio-fixtures.test.ts.
  it.each(docs)('%s renders with the Bookinfo context into EnvoyFilters', (file) => {
    const r = renderFixture(file, metricsFor[file]);
    expect(problems(r)).toEqual([]);
    expect(r.envoyFilters.length).toBeGreaterThan(0);
    expect(r.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('gives the patches of practice 1 for the average example with one running pod and quota 10', () => {
    const limiter = onlyLimiter(
      loadObjects({
        text: namedSmartLimiterYaml(
          'productpage',
          `- action: {fill_interval: {seconds: 60}, quota: '10/{{._base.pod}}', strategy: 'average'}
  condition: 'true'
  target: {port: 9080}`,
        ),
      }),
    );
    const r = renderSmartLimiter({ limiter, context: ctx });
    expect(problems(r)).toEqual([]);
    expect(r.metrics['_base.pod']).toBe(1);
    const [ef] = r.envoyFilters;
    const expected = parse(readFileSync(fixturePath('practice1-envoyfilter.yaml'), 'utf8')) as EnvoyFilter;
    // Slime's documentation predates the context field in route matches; current Slime (and Governor) set it.
    const ours = json(ef);
    for (const p of ours?.spec.configPatches ?? []) {
      if (p.applyTo === 'HTTP_ROUTE' && p.match?.context === 'SIDECAR_INBOUND') delete p.match.context;
    }
    expect(normalize(ours?.spec)).toEqual(normalize(expected.spec));
    expect(ours?.metadata.name).toBe(expected.metadata.name);
    expect(ours?.metadata.ownerReferences).toEqual(expected.metadata.ownerReferences);
  });
});

describe("renderSmartLimiter: Slime's conversion test data", () => {
  const dir = join(slimeFixturesDir, 'conversion');
  const cases = readdirSync(dir)
    .filter((f) => f.endsWith('.local.yaml'))
    .sort();
  const context = contextOf(loadObjects('conversion/ctx-hello.yaml'));

  it.each(cases)('%s gives the expected EnvoyFilter', (file) => {
    const limiter = onlyLimiter(loadObjects(`conversion/${file}`));
    const r = renderSmartLimiter({ limiter, context });
    expect(problems(r)).toEqual([]);
    expect(r.envoyFilters).toHaveLength(1);
    const ours = json(r.envoyFilters[0]) as EnvoyFilter;
    const expected = JSON.parse(
      readFileSync(join(dir, file.replace('.yaml', '.ef.expect.json')), 'utf8'),
    ) as EnvoyFilter;
    // Slime ran these with its HTTP_FILTER insertion switched off.
    ours.spec.configPatches = ours.spec.configPatches.filter((p) => p.applyTo !== 'HTTP_FILTER');
    expect(normalize(ours.spec)).toEqual(normalize(expected.spec));
    expect(ours.metadata.labels).toEqual(expected.metadata.labels);
    expect(ours.metadata.name).toBe(`${limiter.metadata.name}.${limiter.metadata.namespace}.ratelimit`);
  });
});

describe('renderSmartLimiter: semantics', () => {
  it('keeps descriptor ids stable when the quota changes, and distinct when the match differs', () => {
    const d = (quota: string, header: string) => `- action: {fill_interval: {seconds: 1}, quota: "${quota}"}
  condition: "true"
  match: [{name: user, exact_match: ${header}}]
  target: {port: 9080}`;
    const idOf = (r: RenderResult) => r.rules[0]?.id;
    const a = renderYaml(smartLimiterYaml(d('10', 'alice')));
    const b = renderYaml(smartLimiterYaml(d('{{._base.pod}}*100', 'alice')));
    const c = renderYaml(smartLimiterYaml(d('10', 'bob')));
    expect(idOf(a)).toMatch(/^Service\[reviews\.default\]-Id\[\d+\]$/);
    expect(idOf(a)).toBe(idOf(b));
    expect(b.rules[0]?.quota).toBe(300);
    expect(idOf(a)).not.toBe(idOf(c));
  });

  it('gives two descriptors with the same match and target different ids', () => {
    const r = renderYaml(
      smartLimiterYaml(`- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {seconds: 60}, quota: "100"}, condition: "true", target: {port: 9080}}`),
    );
    expect(r.rules).toHaveLength(2);
    expect(r.rules[0]?.id).not.toBe(r.rules[1]?.id);
  });

  it('shares an average quota out across the running pods when the quota has no metric of its own', () => {
    const d = (quota: string) =>
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 60}, quota: "${quota}", strategy: average}, condition: "true", target: {port: 9080}}`,
      );
    expect(renderYaml(d('100')).rules[0]?.quota).toBe(34); // 3 reviews pods: ceil(100/3)
    expect(renderYaml(d('100/{{._base.pod}}')).rules[0]?.quota).toBe(34); // the expression divides itself
    expect(renderYaml(d('90')).rules[0]?.quota).toBe(30);
    expect(renderYaml(d('100'), { '_base.pod': 4 }).rules[0]?.quota).toBe(25);
  });

  it('shares an average quota with the VMs (WorkloadEntries) the Service selects, as with pods', () => {
    const objects = loadObjects({
      text: `apiVersion: v1
kind: Service
metadata: {name: details, namespace: default}
spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: details-v1-a, namespace: default, labels: {app: details, version: v1}}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: details-v1-b, namespace: default, labels: {app: details, version: v1}}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: details-vm, namespace: default}
spec: {address: 10.0.2.15, labels: {app: details, version: v1-vm}}
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: details-vm-elsewhere, namespace: other}
spec: {address: 10.0.2.16, labels: {app: details}}
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: ratings-vm, namespace: default}
spec: {address: 10.0.2.17, labels: {app: ratings}}`,
    });
    const limiter = onlyLimiter(
      loadObjects({
        text: namedSmartLimiterYaml(
          'details',
          `- {action: {fill_interval: {seconds: 60}, quota: "90", strategy: average}, condition: "true", target: {port: 9080}}`,
        ),
      }),
    );
    const r = renderSmartLimiter({ limiter, context: contextOf(objects), metrics: {} });
    expect(problems(r)).toEqual([]);
    expect(r.metrics).toMatchObject({ '_base.pod': 3 });
    expect(r.rules[0]?.quota).toBe(30); // 2 pods + 1 VM: a third each
    expect(metricSetsOf(limiter, contextOf(objects))).toEqual([
      { name: '_base', pods: ['details-v1-a', 'details-v1-b', 'details-vm'] },
    ]);
  });

  it('counts only Running pods, per set', () => {
    const pods = loadObjects({
      text: `apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-pending, namespace: default, labels: {app: reviews, version: v2}}
status: {phase: Pending}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-extra, namespace: default, labels: {app: reviews, version: v2}}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-failed, namespace: default, labels: {app: reviews, version: v2}}
status: {phase: Failed}`,
    });
    const context = { ...ctx, pods: [...ctx.pods, ...pods.pods] };
    const r = renderYaml(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      {},
      context,
    );
    expect(r.metrics).toMatchObject({ '_base.pod': 4, 'v1.pod': 1, 'v2.pod': 2, 'v3.pod': 1 });
    expect(r.status.metricStatus).toMatchObject({ '_base.pod': '4', 'v2.pod': '2' });
  });

  it('renders a subset set with the subset labels in the workload selector and its own name', () => {
    const r = renderFixture('doc-i-subset-v2.yaml', { 'v2.cpu.sum': 11 });
    expect(r.envoyFilters.map((e) => e.metadata.name)).toEqual(['reviews.default.v2.ratelimit']);
    expect(r.envoyFilters[0]?.spec.workloadSelector).toEqual({ labels: { app: 'reviews', version: 'v2' } });
    const off = renderFixture('doc-i-subset-v2.yaml', { 'v2.cpu.sum': 10 });
    expect(problems(off)).toEqual([]);
    expect(off.envoyFilters).toEqual([]);
  });

  it('points global descriptors at the rate-limit service and gives them no local bucket', () => {
    const r = renderFixture('doc-e-global.yaml');
    const ef = r.envoyFilters[0];
    const filters = ef?.spec.configPatches.filter((p) => p.applyTo === 'HTTP_FILTER') ?? [];
    expect(filters).toHaveLength(1);
    expect(JSON.stringify(filters[0])).toContain('envoy.filters.http.ratelimit');
    expect(JSON.stringify(filters[0])).toContain('"domain":"governor"');
    expect(JSON.stringify(filters[0])).toContain('governor-rls');
    expect(JSON.stringify(ef)).not.toContain('typed_per_filter_config');
    expect(r.globalDescriptors).toEqual([
      { key: 'generic_key', value: r.rules[0]?.id, rate_limit: { unit: 'MINUTE', requests_per_unit: 100 } },
    ]);
    const custom = renderSmartLimiter({
      limiter: onlyLimiter(loadObjects('doc-e-global.yaml')),
      context: ctx,
      options: { rateLimitService: { clusterName: 'outbound|8081||rls.example', domain: 'edge' } },
    });
    expect(JSON.stringify(custom.envoyFilters[0])).toContain('"clusterName":"outbound|8081||rls.example"');
    expect(JSON.stringify(custom.envoyFilters[0])).toContain('"domain":"edge"');
  });

  it('denies on rate-limit service failure only with governor.io/fail-mode: closed', () => {
    const global = (ann: string) =>
      renderYaml(
        smartLimiterYaml(
          `- {action: {fill_interval: {seconds: 1}, quota: "5", strategy: global}, condition: "true", target: {port: 9080}}`,
          ann,
        ),
      );
    expect(JSON.stringify(global('').envoyFilters[0])).not.toContain('failure_mode_deny');
    expect(
      JSON.stringify(global(', annotations: {governor.io/fail-mode: closed}').envoyFilters[0]),
    ).toContain('"failure_mode_deny":true');
    expect(problems(global(', annotations: {governor.io/fail-mode: shut}'))).toEqual([
      'metadata.annotations.governor.io/fail-mode: expected open or closed, got "shut"',
    ]);
  });

  it('enforces nothing in shadow mode', () => {
    const r = renderYaml(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "5"}, condition: "true", target: {port: 9080}}`,
        ', annotations: {governor.io/shadow: "true"}',
      ),
    );
    const text = JSON.stringify(r.envoyFilters[0]);
    expect(text).toContain(
      '"filterEnforced":{"defaultValue":{"numerator":0},"runtimeKey":"local_rate_limit_enforced"}',
    );
    expect(r.rules[0]?.shadow).toBe(true);
  });

  it('gives each source address its own descriptor and adds response headers', () => {
    const r = renderYaml(smartLimiterYaml(SOURCE_ADDRESS_DESCRIPTORS));
    expect(problems(r)).toEqual([]);
    expect(r.rules.map((x) => x.entries)).toEqual([
      [{ key: 'remote_address', value: '10.0.0.1' }],
      [{ key: 'remote_address', value: '10.0.0.2' }],
    ]);
    const text = JSON.stringify(r.envoyFilters[0]);
    // Identical actions would make Envoy's local limiter take a token per copy; the header once.
    expect(text).toContain('"rate_limits":[{"actions":[{"remote_address":{}}]}]');
    expect(text).toContain(
      '"responseHeadersToAdd":[{"append":true,"header":{"key":"x-limited","value":"1"}}]',
    );
  });

  // These and the other semantic cases as istiod applies them: test/integration/istio-render.test.ts.
  it('renders outbound routes, gateway hosts and header/query matchers', () => {
    const r = renderYaml(smartLimiterYaml(OUTBOUND_DESCRIPTORS));
    expect(problems(r)).toEqual([]);
    const ef = r.envoyFilters[0];
    expect(ef).toBeDefined();
    if (!ef) return;
    const applies = ef.spec.configPatches.map(
      (p) => `${p.applyTo} ${p.match?.context} ${p.match?.routeConfiguration?.vhost?.name ?? ''}`,
    );
    expect(applies).toEqual([
      'HTTP_ROUTE SIDECAR_OUTBOUND ratings.default.svc.cluster.local:9080',
      'VIRTUAL_HOST SIDECAR_OUTBOUND details.default.svc.cluster.local',
      'HTTP_FILTER SIDECAR_OUTBOUND ',
      'HTTP_FILTER SIDECAR_OUTBOUND ',
      'HTTP_ROUTE SIDECAR_OUTBOUND ratings.default.svc.cluster.local:9080',
    ]);
    expect(r.rules[1]?.entries).toEqual([
      { key: 'generic_key', value: r.rules[1]?.id },
      { key: expect.stringMatching(/^RequestHeader\[reviews\.default\]-Id\[\d+\]$/) as unknown as string },
    ]);
  });

  it('renders the gateway examples with GATEWAY context and the workload selector', () => {
    for (const file of ['doc-f-gateway-route.yaml', 'doc-g-gateway-host.yaml']) {
      const r = renderFixture(file);
      const ef = r.envoyFilters[0];
      expect(ef?.spec.workloadSelector).toEqual({ labels: { gw_cluster: 'prod-gateway' } });
      expect(new Set(ef?.spec.configPatches.map((p) => p.match?.context))).toEqual(new Set(['GATEWAY']));
      expect(r.metrics['_base.pod']).toBe(1);
    }
    const host = renderFixture('doc-g-gateway-host.yaml').envoyFilters[0];
    expect(host?.spec.configPatches[0]?.applyTo).toBe('VIRTUAL_HOST');
    expect(host?.spec.configPatches[0]?.match?.routeConfiguration?.vhost).toEqual({ name: 'b.test.com:80' });
  });

  it('is deterministic: identical input, byte-identical YAML, whatever the order of the context', () => {
    const limiter = onlyLimiter(loadObjects('doc-c-header-match.yaml'));
    const a = stringify(renderSmartLimiter({ limiter, context: ctx }).envoyFilters);
    const reversed = { ...ctx, pods: [...ctx.pods].reverse(), services: [...ctx.services].reverse() };
    const b = stringify(renderSmartLimiter({ limiter, context: reversed }).envoyFilters);
    expect(b).toBe(a);
  });
});

describe('renderSmartLimiter: failures are visible', () => {
  const expectProblems = (r: RenderResult, expected: (string | RegExp)[]) => {
    const got = problems(r);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(got[i]).toMatch(e));
  };

  it("names an unknown metric and lists the known ones (Slime's issue #217)", () => {
    const r = renderYaml(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "{{.base.cpu.sum}}>10", target: {port: 9080}}`,
      ),
      { '_base.cpu.sum': 50 },
    );
    expectProblems(r, [
      /^spec\.sets\._base\.descriptor\[0\]\.condition: unknown metric "base\.cpu\.sum"; known: _base\.cpu\.sum, _base\.pod, v1\.pod, v2\.pod, v3\.pod/,
    ]);
    expect(r.envoyFilters).toEqual([]);
    const conditions = Object.fromEntries((r.status.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.Valid).toMatchObject({ status: 'False', reason: 'UnknownMetric' });
    expect(conditions.Valid?.message).toContain(
      'spec.sets._base.descriptor[0].condition: unknown metric "base.cpu.sum"',
    );
    expect(conditions.Ready).toMatchObject({ status: 'False', reason: 'UnknownMetric' });
    expect(conditions.MetricsAvailable?.status).toBe('True');
  });

  it('reports syntax errors, bad targets, bad intervals and unsupported matchers with their paths', () => {
    const r = renderYaml(
      smartLimiterYaml(`- {action: {fill_interval: {seconds: 1}, quota: "10/"}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true", target: {direction: outbound, route: [no-slash]}}
- {action: {fill_interval: {seconds: 30}, quota: "10", strategy: global}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {nanos: 1000000}, quota: "10"}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true", target: {port: 9080}, match: [{name: a, exact_match: b, matchSource: JsonBodyMatch}]}
- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true"}
- {action: {fill_interval: {seconds: 1}, quota: "0"}, condition: "true", target: {port: 9080}}
- {action: {fill_interval: {seconds: 1}, quota: "10/{{._base.pod}}"}, condition: "true", target: {port: 9080}, match: [{name: a}]}`),
    );
    expectProblems(r, [
      /^spec\.sets\._base\.descriptor\[0\]\.action\.quota: /,
      /^spec\.sets\._base\.descriptor\[1\]\.target\.route\[0\]: expected <vhost>\/<route name>/,
      /^spec\.sets\._base\.descriptor\[2\]\.action\.fill_interval: a global limit counts per second, minute, hour or day/,
      /^spec\.sets\._base\.descriptor\[3\]\.action\.fill_interval: Envoy's local rate limit refills at most every 50ms, got 0\.001s/,
      /^spec\.sets\._base\.descriptor\[4\]\.match\[0\]\.matchSource: JsonBodyMatch/,
      /^spec\.sets\._base\.descriptor\[5\]\.target: required/,
      /^spec\.sets\._base\.descriptor\[6\]\.action\.quota: quota evaluated to 0/,
      /^spec\.sets\._base\.descriptor\[7\]\.match\[0\]: a header matcher needs/,
    ]);
    expect(r.status.conditions?.find((c) => c.type === 'Valid')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
    });
  });

  it('explains a missing Service, a missing subset and a division by zero', () => {
    const missing = renderYaml(`apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: nosuch, namespace: default}
spec: {sets: {_base: {descriptor: [{action: {fill_interval: {seconds: 1}, quota: "1"}, condition: "true", target: {port: 80}}]}}}`);
    expectProblems(missing, [/^metadata\.name: Service default\/nosuch not found/]);

    const subset = renderYaml(`apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec: {sets: {v9: {descriptor: [{action: {fill_interval: {seconds: 1}, quota: "1"}, condition: "true", target: {port: 80}}]}}}`);
    expectProblems(subset, [
      /^spec\.sets\.v9: no subset "v9" in a DestinationRule for host reviews\.default\.svc\.cluster\.local; subsets: v1, v2, v3/,
    ]);

    const zero = renderYaml(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "100/{{._base.pod}}"}, condition: "true", target: {port: 9080}}`,
      ),
      { '_base.pod': 0 },
    );
    expectProblems(zero, [/^spec\.sets\._base\.descriptor\[0\]\.action\.quota: division by zero/]);
  });

  it('does not complain about a quota whose condition guards it', () => {
    const r = renderYaml(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "100/{{._base.pod}}"}, condition: "{{._base.pod}}>0", target: {port: 9080}}`,
      ),
      { '_base.pod': 0 },
    );
    expect(problems(r)).toEqual([]);
    expect(r.envoyFilters).toEqual([]);
  });
});

describe('renderSmartLimiter: the status', () => {
  it('is not Ready while the metric sources are down', () => {
    const r = renderSmartLimiter({
      limiter: onlyLimiter(loadObjects('doc-a-single-inbound.yaml')),
      context: ctx,
      options: { metricSource: { available: false, message: 'Prometheus did not answer: timeout after 5s' } },
    });
    const conditions = Object.fromEntries((r.status.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.Valid?.status).toBe('True');
    expect(conditions.MetricsAvailable).toMatchObject({ status: 'False', reason: 'MetricSourceUnavailable' });
    expect(conditions.Ready).toMatchObject({
      status: 'False',
      message: 'Prometheus did not answer: timeout after 5s',
    });
  });

  it("has Slime's metricStatus and ratelimitStatus plus conditions and observedGeneration", () => {
    const limiter: SmartLimiter = { ...onlyLimiter(loadObjects('doc-h-adaptive-cpu.yaml')) };
    limiter.metadata = { ...limiter.metadata, generation: 4 };
    const now = new Date('2026-11-28T10:00:00.123Z');
    const r = renderSmartLimiter({
      limiter,
      context: ctx,
      metrics: { '_base.cpu.sum': '85.5' },
      options: { now },
    });
    expect(r.status.metricStatus).toEqual({ '_base.cpu.sum': '85.5', '_base.pod': '3' });
    expect(r.status.ratelimitStatus).toEqual({
      _base: {
        descriptor: [
          {
            action: { fillInterval: { seconds: 1 }, quota: '10', strategy: 'single' },
            target: { port: 9080 },
          },
        ],
      },
    });
    expect(r.status.observedGeneration).toBe(4);
    expect(r.status.conditions?.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Valid', 'True', '2026-11-28T10:00:00Z'],
      ['MetricsAvailable', 'True', '2026-11-28T10:00:00Z'],
      ['Ready', 'True', '2026-11-28T10:00:00Z'],
    ]);
    const later = renderSmartLimiter({
      limiter,
      context: ctx,
      metrics: { '_base.cpu.sum': '85.5' },
      options: { now: new Date('2026-11-28T11:00:00Z'), previousStatus: r.status },
    });
    expect(later.status.conditions?.map((c) => c.lastTransitionTime)).toEqual([
      '2026-11-28T10:00:00Z',
      '2026-11-28T10:00:00Z',
      '2026-11-28T10:00:00Z',
    ]);
  });
});

describe('parseAllDocuments smoke', () => {
  it('reads the Bookinfo context', () => {
    const docs = parseAllDocuments(readFileSync(fixturePath('context-bookinfo.yaml'), 'utf8'));
    expect(Array.isArray(docs) ? docs.length : 1).toBe(
      bookinfo.services.length + bookinfo.pods.length + bookinfo.destinationRules.length,
    );
  });
});
