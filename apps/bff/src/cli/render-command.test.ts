import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { capturedIo, runCli as run, withBookinfo } from '../../test/support/cli';
import { registerKind } from '../cluster/store';
import type { Module } from '../framework/module';
import { limiter } from '../modules/limiter';
import { renderCommand } from './render-command';
import { fixturePath, slimeAutoFence, slimeBootYaml, smartLimiterYaml } from '../../test/support/fixtures';
import { renderSmartLimiter } from '../modules/limiter/render';
import { emptyObjects, loadText } from '../framework/cli/load-files';

const tmp = mkdtempSync(join(tmpdir(), 'governor-cli-'));
const write = (name: string, text: string): string => {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
};

interface List {
  apiVersion: string;
  kind: string;
  items: {
    metadata: { name: string; namespace: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

describe('governor render', () => {
  it('prints a JSON List of EnvoyFilters sorted by namespace/name', async () => {
    const r = await run([
      'render',
      ...withBookinfo('doc-f-gateway-route.yaml', 'doc-a-single-inbound.yaml', 'doc-c-header-match.yaml'),
      '-o',
      'json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as List;
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual([
      'default/productpage.default.ratelimit',
      'default/reviews.default.ratelimit',
      'gateway-system/prod-gateway-1.gateway-system.ratelimit',
    ]);
  });

  it('gives every object to the module of its kind and sorts the output by kind, namespace and name', async () => {
    // A second module beside the limiter: a Widget plans one Announcement in its namespace.
    const widgets = {
      name: 'widgets',
      kind: 'Widget',
      kinds: { Widget: { group: 'example.io', version: 'v1', plural: 'widgets', hasStatus: true } },
      settings: { name: 'widgets', settings: {} },
      create: (): Module => ({
        name: 'widgets',
        kind: 'Widget',
        apiVersion: 'example.io/v1',
        watches: [],
        owns: ['Announcement'],
        parse: (raw) => ({ ok: true, value: raw }),
        invalidStatus: () => ({}),
        plan: ({ raw }) => ({
          desired: [
            {
              apiVersion: 'example.io/v1',
              kind: 'Announcement',
              metadata: { name: raw.metadata.name, namespace: raw.metadata.namespace ?? 'default' },
            },
          ],
          status: { seen: true },
          problems: [],
          engine: null,
        }),
      }),
    } as const;
    for (const [name, info] of Object.entries(widgets.kinds)) registerKind(name, info);
    const widget = (ns: string, name: string) =>
      stringify({ apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name, namespace: ns } });
    const file = write(
      'widgets.yaml',
      [widget('zeta', 'w'), widget('alpha', 'z'), widget('alpha', 'w')].join('---\n'),
    );
    const { out, io } = capturedIo();
    const code = await renderCommand(
      [...withBookinfo('doc-f-gateway-route.yaml', 'doc-a-single-inbound.yaml'), '-f', file, '-o', 'json'],
      io,
      [limiter, widgets],
    );
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    const list = JSON.parse(out.stdout) as {
      items: { kind: string; metadata: { namespace: string; name: string } }[];
    };
    expect(list.items.map((i) => `${i.kind} ${i.metadata.namespace}/${i.metadata.name}`)).toEqual([
      'Announcement alpha/w',
      'Announcement alpha/z',
      'Announcement zeta/w',
      'EnvoyFilter default/reviews.default.ratelimit',
      'EnvoyFilter gateway-system/prod-gateway-1.gateway-system.ratelimit',
    ]);
  });

  it('prints YAML documents by default, identical on every run', async () => {
    const args = ['render', ...withBookinfo('doc-j-source-ip-headers-to-add.yaml')];
    const a = await run(args);
    const b = await run(args);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect((parse(a.stdout) as { kind: string }).kind).toBe('EnvoyFilter');
  });

  it('prints an empty List when no condition holds', async () => {
    const r = await run([
      'render',
      ...withBookinfo('doc-h-adaptive-cpu.yaml'),
      '--metric',
      '_base.cpu.sum=5',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ apiVersion: 'v1', kind: 'List', items: [] });
  });

  it('uses --metric values in expressions, and they override pod counts', async () => {
    const file = write(
      'avg.yaml',
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 60}, quota: "120", strategy: average}, condition: "{{._base.cpu.sum}}>=80", target: {port: 9080}}`,
      ),
    );
    const r = await run([
      'render',
      ...withBookinfo(file),
      '-m',
      '_base.cpu.sum=80',
      '--metric=_base.pod=4',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"maxTokens": 30');
  });

  it('prints the SmartLimiters with their computed status with --status', async () => {
    const r = await run(['render', ...withBookinfo('doc-a-single-inbound.yaml'), '--status', '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as List;
    expect(list.items).toHaveLength(1);
    expect(list.items[0]?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(JSON.stringify(list.items[0]?.status)).toContain('"metricStatus":{"_base.pod":"3"');
  });

  it('exits 1 and names the file, object, field path and problem for an invalid field', async () => {
    const file = write(
      'bad-quota.yaml',
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: 10}, condition: "true", target: {port: 9080}}`,
      ),
    );
    const r = await run(['render', ...withBookinfo(file), '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${file}: SmartLimiter default/reviews: spec.sets._base.descriptor[0].action.quota: expected a string`,
    );
  });

  it('exits 1 for an unknown metric and lists the known ones', async () => {
    const file = write(
      'bad-metric.yaml',
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "{{.base.cpu.sum}}>10", target: {port: 9080}}`,
      ),
    );
    const r = await run(['render', ...withBookinfo(file), '--metric', '_base.cpu.sum=90']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /spec\.sets\._base\.descriptor\[0\]\.condition: unknown metric "base\.cpu\.sum"; known: _base\.cpu\.sum, _base\.pod/,
    );
  });

  it('reports YAML syntax errors with their line', async () => {
    const file = write('broken.yaml', 'apiVersion: v1\nkind: [Service\n');
    const r = await run(['render', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml: document 1: YAML error at line \d+, column \d+/);
  });

  it('reports a missing file and a SmartLimiter defined twice', async () => {
    const missing = await run(['render', '-f', 'no-such-file.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-file.yaml');
    const twice = await run([
      'render',
      ...withBookinfo('doc-a-single-inbound.yaml', 'doc-a-single-inbound.yaml'),
    ]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('SmartLimiter default/reviews: defined twice');
  });

  it('warns about unknown fields without failing', async () => {
    const file = write(
      'typo.yaml',
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "10"}, condition: "true", conditon: "x", target: {port: 9080}}`,
      ),
    );
    const r = await run(['render', ...withBookinfo(file)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'spec.sets._base.descriptor[0].conditon: unknown field, ignored (did you mean condition?)',
    );
  });

  it('reads VirtualServices and Gateways for explanations, and names one without a spec', () => {
    const into = emptyObjects();
    const r = loadText(
      'istio.yaml',
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec: {hosts: [reviews], http: [{name: r1, route: [{destination: {host: reviews}}]}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
`,
      into,
    );
    expect(r.warnings).toEqual([]);
    expect(r.problems).toEqual([
      { file: 'istio.yaml', object: 'Gateway default/gw', message: 'expected metadata.name and a spec' },
    ]);
    expect(into.all.map((o) => o.object.kind)).toEqual(['VirtualService']);
  });

  it('reads WorkloadEntries (VMs), and names a bad field of one', () => {
    const into = emptyObjects();
    const r = loadText(
      'vm.yaml',
      `apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: details-vm, namespace: default}
spec: {address: 10.0.2.15, labels: {app: details}, ports: {http: 9080}}
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: bad, namespace: default}
spec: {ports: {http: nine}}
`,
      into,
    );
    expect(r.warnings).toEqual([]);
    expect(r.problems).toEqual([
      expect.objectContaining({ object: 'WorkloadEntry default/bad', path: 'spec.ports.http' }),
    ]);
    expect(into.workloadEntries.map((w) => w.metadata.name)).toEqual(['details-vm']);
    expect(into.all.map((o) => o.object.kind)).toEqual(['WorkloadEntry']);
  });

  it('reads standard input for -f -', async () => {
    const text = `${stringify(parse(smartLimiterYaml(`- {action: {fill_interval: {seconds: 1}, quota: "3"}, condition: "true", target: {port: 9080}}`)))}`;
    const r = await run(['render', ...withBookinfo('-'), '-o', 'json'], text);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as List).items).toHaveLength(1);
  });

  it('--explain: where each patch lands on the Pods it selects, replicas alike grouped', async () => {
    const r = await run(['render', ...withBookinfo('doc-a-single-inbound.yaml'), '--explain']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    // reviews v1, v2 and v3 get the same configuration from istiod.
    expect(lines[0]).toBe(
      'Pod default/reviews-v1-8f9d7b9c5-k1, sidecar (and default/reviews-v2-6c5bf657cf-k2, default/reviews-v3-7b5c8d8d8d-k3, alike):',
    );
    expect(lines[1]).toBe('  EnvoyFilter default/reviews.default.ratelimit');
    // The filter has no port in its match: istiod inserts it in every inbound HTTP chain.
    expect(lines.slice(2)).toEqual([
      '    patch 0 HTTP_ROUTE MERGE (SIDECAR_INBOUND): route configuration inbound|9080||, virtual host inbound|http|9080, route default',
      '    patch 1 HTTP_FILTER INSERT_BEFORE (SIDECAR_INBOUND):',
      '      listener virtualInbound, filter chain 0.0.0.0_9080',
      '      listener virtualInbound, filter chain virtualInbound-catchall-http',
      '    patch 2 HTTP_ROUTE MERGE (SIDECAR_INBOUND): route configuration inbound|9080||, virtual host inbound|http|9080, route default',
    ]);
  });

  it('--explain warns, with the reason, about a patch that matches nothing, and exits 1', async () => {
    // doc-b limits calls to reviews on port 80; Bookinfo's reviews listens on 9080.
    const r = await run(['render', ...withBookinfo('doc-b-outbound-route.yaml'), '--explain']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Pod default/productpage-v1-7d4f8b6c9-abcde, sidecar:');
    expect(r.stdout).toMatch(
      /patch 0 HTTP_ROUTE MERGE \(SIDECAR_OUTBOUND\): MATCHES NOTHING: .*reviews\.default\.svc\.cluster\.local:80/,
    );
    expect(r.stderr).toMatch(
      /^warning: EnvoyFilter default\/productpage\.default\.ratelimit patch 0 HTTP_ROUTE MERGE \(SIDECAR_OUTBOUND\) matches nothing on default\/productpage-v1-7d4f8b6c9-abcde: .*reviews\.default\.svc\.cluster\.local:9080/m,
    );
  });

  it('--explain --proxy explains one Pod; -o json gives the explanation itself', async () => {
    const r = await run([
      'render',
      ...withBookinfo('doc-a-single-inbound.yaml'),
      '--explain',
      '--proxy',
      'default/reviews-v2-6c5bf657cf-k2',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      proxies: {
        pods: string[];
        explanation: { proxy: { type: string }; patches: { places: unknown[] }[] };
      }[];
    };
    expect(out.proxies.map((p) => p.pods)).toEqual([['default/reviews-v2-6c5bf657cf-k2']]);
    expect(out.proxies[0]!.explanation.proxy.type).toBe('sidecar');
    expect(out.proxies[0]!.explanation.patches[1]!.places).toEqual([
      { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
      { listener: 'virtualInbound', filterChain: 'virtualInbound-catchall-http' },
    ]);
    // A Pod no EnvoyFilter selects is explained as such when asked for.
    const other = await run([
      'render',
      ...withBookinfo('doc-a-single-inbound.yaml'),
      '--explain',
      '--proxy',
      'default/productpage-v1-7d4f8b6c9-abcde',
    ]);
    expect(other.code).toBe(0);
    expect(other.stdout).toBe(
      'Pod default/productpage-v1-7d4f8b6c9-abcde, sidecar:\n  selected by none of the rendered EnvoyFilters\n',
    );
    const missing = await run([
      'render',
      ...withBookinfo('doc-a-single-inbound.yaml'),
      '--explain',
      '--proxy',
      'default/nope',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('governor render: --proxy default/nope: no such Pod in the input\n');
  });

  it('refuses bad usage with exit 2 and explains', async () => {
    for (const args of [
      ['render'],
      ['render', '-f', 'x', '-o', 'xml'],
      ['render', '-f', 'x', '--metric', 'a'],
      ['render', '--bogus'],
      ['render', '-f', 'x', '--proxy', 'default/p'],
      ['render', '-f', 'x', '--explain', '--proxy', 'p'],
      ['render', '-f', 'x', '--explain', '--status'],
      ['nope'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.length).toBeGreaterThan(0);
    }
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['render', '--help'], ['help', 'render']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: governor/);
    }
  });
});

describe('governor render from the shell', () => {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..');
  const exec = promisify(execFile);

  it('works as `pnpm -s governor render ... -o json` from the repository root', async () => {
    const { stdout } = await exec(
      'pnpm',
      [
        '-s',
        'governor',
        'render',
        '-f',
        fixturePath('doc-b-outbound-route.yaml'),
        '-f',
        fixturePath('context-bookinfo.yaml'),
        '-o',
        'json',
      ],
      { cwd: repoRoot },
    );
    const list = JSON.parse(stdout) as List;
    expect(list.items.map((i) => i.metadata.name)).toEqual(['productpage.default.ratelimit']);
  }, 60_000);

  it('exits 1 with the problem on standard error', async () => {
    const file = write(
      'shell-bad.yaml',
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "1/"}, condition: "true", target: {port: 9080}}`,
      ),
    );
    const err = await exec(
      'node',
      [
        join(repoRoot, 'apps/bff/bin/governor.mjs'),
        'render',
        '-f',
        file,
        '-f',
        fixturePath('context-bookinfo.yaml'),
      ],
      {
        cwd: repoRoot,
      },
    ).catch((e: unknown) => e as { code: number; stderr: string });
    expect('code' in err ? err.code : 0).toBe(1);
    expect('stderr' in err ? err.stderr : '').toContain('spec.sets._base.descriptor[0].action.quota');
  }, 60_000);
});

describe('loading and rendering arbitrary input', () => {
  const context = (() => {
    const o = emptyObjects();
    loadText(
      'ctx',
      stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'reviews' },
        spec: { selector: { app: 'r' } },
      }),
      o,
    );
    return o;
  })();

  it('never crashes on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const into = emptyObjects();
        const r = loadText('random.yaml', text, into);
        expect(Array.isArray(r.problems)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  const scalar = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      scalar,
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(
        fc.oneof(
          fc.constantFrom(
            'quota',
            'fill_interval',
            'fillInterval',
            'seconds',
            'nanos',
            'condition',
            'target',
            'port',
            'match',
            'name',
            'exact_match',
            'matchSource',
            'strategy',
            'direction',
            'route',
            'host',
            'action',
            'descriptor',
            '_base',
            'v1',
          ),
          fc.string({ maxLength: 6 }),
        ),
        tie('v'),
        { maxKeys: 4 },
      ),
    ),
  }));

  it('never crashes on random SmartLimiter-shaped YAML: only typed problems', () => {
    fc.assert(
      fc.property(
        value.v,
        fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }))),
        (spec, metrics) => {
          const doc = {
            apiVersion: 'microservice.slime.io/v1alpha2',
            kind: 'SmartLimiter',
            metadata: { name: 'reviews' },
            spec,
          };
          const into = emptyObjects();
          const r = loadText('random.yaml', stringify(doc), into);
          for (const p of r.problems) expect(typeof p.message).toBe('string');
          for (const { object } of into.smartLimiters) {
            const result = renderSmartLimiter({
              limiter: object,
              context: { ...context, pods: [], destinationRules: [], serviceEntries: [] },
              metrics,
            });
            for (const p of result.problems) expect(p.path.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never crashes on random descriptors that parse', () => {
    const descriptor = fc.record({
      condition: fc.oneof(fc.constant('true'), fc.string({ maxLength: 20 }), fc.constant('{{._base.pod}}>1')),
      action: fc.record({
        quota: fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.constant('100/{{._base.pod}}'),
          fc.integer({ min: 0, max: 9 }).map(String),
        ),
        fill_interval: fc.record({
          seconds: fc.integer({ min: 0, max: 100000 }),
          nanos: fc.integer({ min: 0, max: 999999999 }),
        }),
        strategy: fc.constantFrom('single', 'average', 'global'),
      }),
      target: fc.record(
        {
          port: fc.integer({ min: 0, max: 65535 }),
          direction: fc.constantFrom('inbound', 'outbound'),
          route: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
      match: fc.array(
        fc.record(
          {
            name: fc.string({ maxLength: 4 }),
            exact_match: fc.string({ maxLength: 8 }),
            prefix_match: fc.string({ maxLength: 3 }),
            matchSource: fc.constantFrom('HeadMatch', 'QueryMatch', 'SourceIpMatch', 'JsonBodyMatch'),
            present_match_separate: fc.boolean(),
            invert_match: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(
        fc.array(descriptor, { maxLength: 3 }),
        fc.integer({ min: 0, max: 5 }),
        (descriptors, pods) => {
          const doc = {
            apiVersion: 'microservice.slime.io/v1alpha2',
            kind: 'SmartLimiter',
            metadata: { name: 'reviews' },
            spec: { sets: { _base: { descriptor: descriptors } } },
          };
          const into = emptyObjects();
          loadText('random.yaml', stringify(doc), into);
          for (const { object } of into.smartLimiters) {
            const result = renderSmartLimiter({
              limiter: object,
              context: { ...context, pods: [], destinationRules: [], serviceEntries: [] },
              metrics: { '_base.pod': pods },
            });
            expect(result.envoyFilters.length + result.problems.length).toBeGreaterThanOrEqual(0);
            for (const rule of result.rules) {
              expect(rule.quota).toBeGreaterThanOrEqual(1);
              expect(Number.isInteger(rule.quota)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('governor render: ServiceFences', () => {
  const fence = write(
    'fence.yaml',
    `apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: reviews, namespace: default}
spec:
  enable: true
  host:
    ratings: {deadline: {expire: {seconds: 1700000000}}}
    test/*: {}
status:
  domains:
    ratings.default.svc.cluster.local: {hosts: [ratings.default.svc.cluster.local], status: 0}
  metricStatus:
    '{destination_service="details.default.svc.cluster.local"}': "4"
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
`,
  );
  const hostsOf = (stdout: string) =>
    (JSON.parse(stdout) as { items: { kind: string; spec: { egress: { hosts: string[] }[] } }[] }).items.find(
      (i) => i.kind === 'Sidecar',
    )?.spec.egress[0]?.hosts;

  it('renders the Sidecar, with the calls its status records, at the time --now gives', async () => {
    const before = await run(['render', '-f', fence, '--now', '2023-11-14T22:13:00Z', '-o', 'json']);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    expect(hostsOf(before.stdout)).toEqual([
      '*/details.default.svc.cluster.local',
      '*/ratings.default.svc.cluster.local',
      'governor-system/*',
      'istio-system/*',
      'test/*',
    ]);
    // Past the deadline, the host waits once (EXPIREWAIT) and stays in the Sidecar.
    const after = await run([
      'render',
      '-f',
      fence,
      '--now',
      '2023-11-15T00:00:00Z',
      '--status',
      '-o',
      'json',
    ]);
    expect(after.code).toBe(0);
    const status = (
      JSON.parse(after.stdout) as { items: { status: { domains: Record<string, { status: number }> } }[] }
    ).items[0]!.status;
    expect(status.domains['ratings.default.svc.cluster.local']!.status).toBe(2);
    expect(status.domains['details.default.svc.cluster.local']!.status).toBe(0);
  });

  it('prints YAML by default, and refuses a --now that is not RFC 3339', async () => {
    const r = await run(['render', '-f', fence, '--now', '2023-11-14T22:13:00Z']);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toMatchObject({
      kind: 'Sidecar',
      metadata: { name: 'reviews', namespace: 'default' },
    });
    const bad = await run(['render', '-f', fence, '--now', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--now yesterday: expected an RFC 3339 time');
  });

  it('warns about unknown fields and fails on a key that is not a host', async () => {
    const file = write(
      'bad-fence.yaml',
      `apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: reviews, namespace: default}
spec: {enable: true, hots: {}, host: {"not a host!": {}}}
`,
    );
    const r = await run(['render', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.hots: unknown field, ignored (did you mean host?)');
    expect(r.stderr).toContain('not a host! is not a host name');
  });
});

describe('governor render: auto-fencing', () => {
  const lazyloadFixture = (name: string) => fixturePath(`lazyload/${name}`);
  const slimeBoot = (general: string) =>
    write(
      `slimeboot-${general.replace(/\W+/g, '-')}.yaml`,
      slimeBootYaml(
        'lazyload',
        [`general: ${general}`, 'global: {istioNamespace: istio-system, slimeNamespace: mesh-operator}'],
        ', namespace: mesh-operator',
      ),
    );

  it("gives Slime's autofence.base Sidecar from its Namespace and Service, with a SlimeBoot as Slime's test sets it", async () => {
    const r = await run([
      'render',
      '-f',
      lazyloadFixture('autofence.base.input.yaml'),
      '-f',
      slimeBoot('{autoFence: true, defaultFence: true}'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d) as Record<string, unknown>);
    expect(docs.map((d) => d.kind)).toEqual(['ServiceFence', 'Sidecar']);
    expect(docs[0]).toEqual(slimeAutoFence('lazyload', 'foo'));
    const expected = parse(
      readFileSync(lazyloadFixture('autofence.base.expect.sidecar.yaml'), 'utf8'),
    ) as unknown;
    expect(docs[1]).toEqual(expected);
  });

  it('makes no fence with autoFence off, nor where the labels say false, nor over a fence in the files', async () => {
    const off = await run([
      'render',
      '-f',
      lazyloadFixture('autofence.base.input.yaml'),
      '-f',
      slimeBoot('{autoFence: false, defaultFence: true}'),
    ]);
    expect(off.code).toBe(0);
    expect(off.stdout).toBe('');
    const labelled = write(
      'autofence-labels.yaml',
      `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {slime.io/serviceFenced: "false"}}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: pay, namespace: shop, labels: {slime.io/serviceFenced: "true"}}
spec: {selector: {app: pay}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: own, namespace: shop, labels: {slime.io/serviceFenced: "true"}}
spec: {selector: {app: own}, ports: [{port: 80}]}
---
apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: own, namespace: shop}
spec: {enable: true, workloadSelector: {labels: {app: own-v2}}}
`,
    );
    const r = await run([
      'render',
      '-f',
      labelled,
      '-f',
      slimeBoot('{autoFence: true, defaultFence: true}'),
      '-o',
      'json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const items = (JSON.parse(r.stdout) as { items: KubeObjectLike[] }).items;
    expect(items.map((i) => `${i.kind} ${i.metadata.name}`)).toEqual([
      'ServiceFence pay',
      'Sidecar own',
      'Sidecar pay',
    ]);
    expect(items[1]!.spec).toMatchObject({ workloadSelector: { labels: { app: 'own-v2' } } });
    const status = await run([
      'render',
      '-f',
      labelled,
      '-f',
      slimeBoot('{autoFence: true}'),
      '--status',
      '-o',
      'json',
    ]);
    // Only the fences have a status; the Services' belongs to Kubernetes.
    expect(
      (JSON.parse(status.stdout) as { items: KubeObjectLike[] }).items.map(
        (i) => `${i.kind} ${i.metadata.name}`,
      ),
    ).toEqual(['ServiceFence own', 'ServiceFence pay']);
  });

  it('reports what the SlimeBoot gets wrong, with its file', async () => {
    const file = slimeBoot('{autoFence: maybe}');
    const r = await run(['render', '-f', lazyloadFixture('autofence.base.input.yaml'), '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${file}: SlimeBoot lazyload:`);
    expect(r.stderr).toContain('autoFence');
  });
});

interface KubeObjectLike {
  kind: string;
  metadata: { name: string };
  spec?: unknown;
}

describe('governor render: PluginManagers and EnvoyPlugins', () => {
  const pluginFixture = (name: string) => fixturePath(`plugin/${name}`);
  const expected = (name: string) => parse(readFileSync(pluginFixture(name), 'utf8')) as unknown;
  const fence = write(
    'plugin-fence.yaml',
    `apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: reviews, namespace: default}
spec: {enable: true, host: {ratings: {stable: {}}}}
`,
  );

  it("renders Slime's fixtures exactly, with other modules' kinds in the same run", async () => {
    const r = await run([
      'render',
      '-f',
      pluginFixture('gateway_sample.plm.yaml'),
      '-f',
      pluginFixture('gateway_rc_patch.ep.yaml'),
      '-f',
      fence,
      ...withBookinfo('doc-a-single-inbound.yaml'),
      '-o',
      'json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const items = (
      JSON.parse(r.stdout) as { items: (KubeObjectLike & { metadata: { namespace: string } })[] }
    ).items;
    expect(items.map((i) => `${i.kind} ${i.metadata.namespace}/${i.metadata.name}`)).toEqual([
      'EnvoyFilter default/gateway-rc-patch',
      'EnvoyFilter default/gateway-sample',
      'EnvoyFilter default/reviews.default.ratelimit',
      'Sidecar default/reviews',
    ]);
    expect(items[0]).toEqual(expected('gateway_rc_patch.ep.expect.yaml'));
    expect(items[1]).toEqual(expected('gateway_sample.plm.expect.yaml'));
  });

  it('exits 1 naming the file, object and field path of a bad plugin, and warns of unknown fields', async () => {
    const file = write(
      'bad-plugins.yaml',
      `apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: {name: both, namespace: default}
spec:
  workload_labels: {app: reviews}
  plugins: []
  plugin:
    - {name: auth, enable: true, inline: {settings: {}}, wasm: {url: "oci://example/auth"}}
---
apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: {name: route, namespace: default}
spec:
  route: [r1]
  plugins:
    - {name: envoy.filters.http.fault, enable: true, listenerType: Sideways, inline: {settings: {}}}
---
apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: {name: fault, namespace: default}
spec:
  plugin:
    - {name: envoy.filters.http.fault, enable: true, inline: {settings: {abort: {http_statu: 429}}}}
`,
    );
    const r = await run(['render', '-f', file, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${file}: PluginManager default/both: spec.plugin[0]: sets inline and wasm: a plugin has exactly one of inline, wasm or rider`,
    );
    expect(r.stderr).toContain('spec.plugins: unknown field, ignored (did you mean plugin?)');
    expect(r.stderr).toContain(`${file}: EnvoyPlugin default/route: spec.plugins[0].listenerType`);
    expect(r.stderr).toContain(
      `${file}: PluginManager default/fault: spec.plugin[0].inline.settings.abort.http_statu: unknown field "http_statu" of envoy.extensions.filters.http.fault.v3.FaultAbort (did you mean http_status?)`,
    );
  });
});
