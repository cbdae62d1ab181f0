import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { slimeFixturesDir } from '@governor/crd-types/testing';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../cluster/store';
import { loadModuleConfig } from '../../framework/module-config';
import type { Plan } from '../../framework/module';
import { defaultSettings } from '../../framework/registry';
import { staticSnapshot } from '../../framework/snapshot';
import { ObservedCalls } from '../../sources/observed-calls';
import { lazyload } from './index';
import { createLazyloadModule, type LazyloadModule } from './module';
import { LAZYLOAD_MODULE } from './settings';

const dir = join(slimeFixturesDir, 'lazyload');
const yamlDocs = (file: string, replace: (t: string) => string = (t) => t): KubeObject[] =>
  parseAllDocuments(replace(readFileSync(join(dir, file), 'utf8')))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null);

/** A SlimeBoot for lazyload with these `global` and `general` settings. */
const settingsWith = (global = '', general = '') =>
  loadModuleConfig(
    `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: lazyload}
spec:
  module:
    - name: lazyload
      enable: true
      global: {${global}}
      general: {${general}}
`,
    [LAZYLOAD_MODULE],
  ).modules.lazyload!;

const moduleWith = (settings = defaultSettings(LAZYLOAD_MODULE), calls = new ObservedCalls()) =>
  createLazyloadModule({
    settings,
    metrics: { metricsFor: () => ({ values: {}, health: { available: true } }) },
    options: {},
    observedCalls: calls,
  });

const fenceObject = (spec: object, extra: Partial<KubeObject> = {}, name = 'reviews'): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'ServiceFence',
  metadata: { name, namespace: 'default' },
  spec,
  ...extra,
});

const service = (name: string, namespace = 'default', labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
  spec: { selector: { app: name }, ports: [{ port: 9080 }] },
});

function planOf(module: LazyloadModule, raw: KubeObject, cluster: KubeObject[] = [], now = new Date(0)) {
  const parsed = module.parse(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const snapshot = staticSnapshot([...cluster, raw]);
  return module.plan({
    object: parsed.value,
    raw,
    snapshot,
    metrics: module.metrics!(parsed.value, snapshot),
    now,
  });
}

const sidecarOf = (plan: Plan<null>) => plan.desired.find((d) => d.kind === 'Sidecar');
const hostsOf = (plan: Plan<null>) =>
  (sidecarOf(plan)?.spec as { egress: { hosts: string[] }[] } | undefined)?.egress[0]?.hosts;
const statusOf = (plan: Plan<null>) =>
  plan.status as {
    domains: Record<string, { hosts: string[]; status: number }>;
    metricStatus: Record<string, string>;
    reasons: Record<string, string>;
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
/** The fence as the cluster holds it after the plan's status is written. */
const withStatus = (raw: KubeObject, plan: Plan<null>): KubeObject => ({ ...raw, status: plan.status });

describe("Slime's lazyload fixtures", () => {
  it("autofence.base: the fence for lazyload/foo gives Slime's Sidecar, namespaces set as in Slime's test", () => {
    const cluster = yamlDocs('autofence.base.input.yaml');
    const [expected] = yamlDocs('autofence.base.expect.sidecar.yaml');
    const module = moduleWith(settingsWith('istioNamespace: istio-system, slimeNamespace: mesh-operator'));
    const fence = {
      ...fenceObject({ enable: true }, {}, 'foo'),
      metadata: { name: 'foo', namespace: 'lazyload' },
    };
    const plan = planOf(module, fence, cluster);
    expect(plan.problems).toEqual([]);
    expect(plan.desired).toEqual([expected]);
  });

  it("the tutorial's productpage fence: Istio's and Governor's namespaces, then what it calls", () => {
    const [fence] = yamlDocs('servicefence_productpage.yaml', (t) => t.replace(/^.*\{\{.*$/gm, ''));
    const calls = new ObservedCalls();
    const module = moduleWith(undefined, calls);
    const first = planOf(module, fence!);
    expect(sidecarOf(first)).toEqual({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Sidecar',
      metadata: { name: 'productpage', namespace: 'default' },
      spec: {
        egress: [{ hosts: ['governor-system/*', 'istio-system/*'] }],
        workloadSelector: { labels: { app: 'productpage' } },
      },
    });
    calls.record(
      'accesslog',
      { namespace: 'default', app: 'productpage' },
      'reviews.default.svc.cluster.local',
      3,
      1000,
    );
    calls.record(
      'accesslog',
      { namespace: 'default', app: 'productpage' },
      'details.default.svc.cluster.local',
      1,
      1000,
    );
    const second = planOf(module, withStatus(fence!, first));
    expect(hostsOf(second)).toEqual([
      '*/details.default.svc.cluster.local',
      '*/reviews.default.svc.cluster.local',
      'governor-system/*',
      'istio-system/*',
    ]);
    expect(statusOf(second).metricStatus).toEqual({
      '{destination_service="details.default.svc.cluster.local"}': '1',
      '{destination_service="reviews.default.svc.cluster.local"}': '3',
    });
    expect(statusOf(second).reasons['reviews.default.svc.cluster.local']).toBe('called (3 requests)');
    expect(statusOf(second).conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });

  it("loads Slime's lazyload SlimeBoot (placeholders left unset) and runs with it", () => {
    const config = loadModuleConfig(readFileSync(join(dir, 'slimeboot_lazyload.yaml'), 'utf8'), [
      LAZYLOAD_MODULE,
    ]);
    expect(config.errors).toEqual([]);
    const settings = config.modules.lazyload!;
    expect(settings.general).toMatchObject({ wormholePort: ['9080'], autoFence: false });
    const plan = planOf(moduleWith(settings), fenceObject({ enable: true }));
    // wormholePort 9080: the fallback EnvoyFilter comes with the Sidecar.
    expect(plan.desired.map((d) => `${d.kind} ${d.metadata.name}`)).toEqual([
      'Sidecar reviews',
      'EnvoyFilter reviews.default.lazyload-fallback',
    ]);
  });
});

describe('domains', () => {
  it('expiry in two steps: ACTIVE → EXPIREWAIT (still in the Sidecar) → EXPIRE, by the clock given', () => {
    const module = moduleWith();
    const expire = 1_700_000_000;
    const raw = fenceObject({
      enable: true,
      host: { ratings: { deadline: { expire: { seconds: expire } } } },
    });
    const host = 'ratings.default.svc.cluster.local';
    const before = planOf(module, raw, [], new Date((expire - 10) * 1000));
    expect(statusOf(before).domains[host]).toEqual({ hosts: [host], status: 0 });
    expect(hostsOf(before)).toContain(`*/${host}`);
    const after = new Date((expire + 10) * 1000);
    const waiting = planOf(module, withStatus(raw, before), [], after);
    expect(statusOf(waiting).domains[host]!.status).toBe(2);
    expect(hostsOf(waiting)).toContain(`*/${host}`);
    expect(statusOf(waiting).reasons[host]).toMatch(
      /deadline .* passed; leaves the Sidecar on the next pass/,
    );
    const expired = planOf(module, withStatus(raw, waiting), [], after);
    expect(statusOf(expired).domains[host]!.status).toBe(1);
    expect(hostsOf(expired)).not.toContain(`*/${host}`);
  });

  it('a host taken out of the fence waits once, then is gone; auto expires by the last call', () => {
    const calls = new ObservedCalls();
    const module = moduleWith(undefined, calls);
    const raw = fenceObject({ enable: true, host: { details: { auto: { duration: { seconds: 60 } } } } });
    const host = 'details.default.svc.cluster.local';
    calls.record(
      'prometheus',
      { namespace: 'default', app: 'reviews' },
      'ratings.default.svc.cluster.local',
      1,
      0,
    );
    calls.record('prometheus', { namespace: 'default', app: 'reviews' }, host, 5, 1_000_000);
    const fresh = planOf(module, raw, [], new Date(1_030_000));
    expect(statusOf(fresh).domains[host]!.status).toBe(0);
    expect(statusOf(fresh).reasons[host]).toBe('spec.host, auto: called 30s ago');
    const stale = planOf(module, withStatus(raw, fresh), [], new Date(1_100_000));
    expect(statusOf(stale).domains[host]!.status).toBe(2);

    const removed = { ...withStatus(raw, fresh), spec: { enable: true, host: {} } };
    const step1 = planOf(module, removed, [], new Date(1_030_000));
    // Called too, so it stays through the calls; a host only in spec.host leaves in two steps.
    expect(statusOf(step1).domains[host]!.status).toBe(0);
    const other = fenceObject({ enable: true, host: { foo: { stable: {} } } }, {}, 'nobody');
    const first = planOf(module, other);
    const gone = { ...withStatus(other, first), spec: { enable: true } };
    const wait = planOf(module, gone);
    expect(statusOf(wait).domains['foo.default.svc.cluster.local']).toEqual({
      hosts: ['foo.default.svc.cluster.local'],
      status: 2,
    });
    expect(hostsOf(wait)).toContain('*/foo.default.svc.cluster.local');
    const last = planOf(module, withStatus(gone, wait));
    expect(statusOf(last).domains).toEqual({});
    expect(hostsOf(last)).toEqual(['governor-system/*', 'istio-system/*']);
  });

  it('ns/* stays whole, with what its services route to in other namespaces', () => {
    const virtualService: KubeObject = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'a', namespace: 'test' },
      spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'b.other.svc.cluster.local' } }] }] },
    };
    const plan = planOf(moduleWith(), fenceObject({ enable: true, host: { 'test/*': {} } }), [
      service('a', 'test'),
      virtualService,
    ]);
    expect(hostsOf(plan)).toEqual([
      '*/b.other.svc.cluster.local',
      'governor-system/*',
      'istio-system/*',
      'test/*',
    ]);
    expect(statusOf(plan).domains['test/*']).toEqual({ hosts: ['b.other.svc.cluster.local'], status: 0 });
  });

  it('label selectors: Services with every label of a selector, any selector; an empty one selects nothing', () => {
    const plan = planOf(
      moduleWith(),
      fenceObject({
        enable: true,
        labelSelector: [{ selector: { project: 'back', group: 'web' } }, { selector: {} }],
      }),
      [
        service('a', 'default', { project: 'back', group: 'web' }),
        service('b', 'other', { project: 'back', group: 'web' }),
        service('c', 'default', { project: 'back' }),
      ],
    );
    expect(hostsOf(plan)).toEqual([
      '*/a.default.svc.cluster.local',
      '*/b.other.svc.cluster.local',
      'governor-system/*',
      'istio-system/*',
    ]);
    expect(statusOf(plan).reasons['b.other.svc.cluster.local']).toBe('spec.labelSelector[0] selects other/b');
  });

  it("a host's VirtualService destinations come with it", () => {
    const virtualService: KubeObject = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        hosts: ['reviews'],
        http: [
          { route: [{ destination: { host: 'reviews' } }, { destination: { host: 'reviews-canary' } }] },
        ],
      },
    };
    const plan = planOf(
      moduleWith(),
      fenceObject({ enable: true, host: { reviews: { stable: {} } } }, {}, 'pp'),
      [virtualService],
    );
    expect(statusOf(plan).domains['reviews.default.svc.cluster.local']).toEqual({
      hosts: ['reviews.default.svc.cluster.local', 'reviews-canary.default.svc.cluster.local'],
      status: 0,
    });
    expect(hostsOf(plan)).toContain('*/reviews-canary.default.svc.cluster.local');
  });

  it('stable hosts from the settings, and the istio.io/rev label copied', () => {
    const module = moduleWith(settingsWith('', 'stableHost: [ext.example.com, shared/*]'));
    const plan = planOf(
      module,
      fenceObject(
        { enable: true },
        { metadata: { name: 'reviews', namespace: 'default', labels: { 'istio.io/rev': 'canary' } } },
      ),
    );
    expect(hostsOf(plan)).toEqual(['*/ext.example.com', 'governor-system/*', 'istio-system/*', 'shared/*']);
    expect(sidecarOf(plan)?.metadata.labels).toEqual({ 'istio.io/rev': 'canary' });
  });
});

describe('the workload selected', () => {
  it('labels first, then the Service with fromService, else app: <fence name>', () => {
    const module = moduleWith();
    const selector = (p: Plan<null>) =>
      (sidecarOf(p)?.spec as { workloadSelector: unknown }).workloadSelector;
    const svc = { ...service('reviews'), spec: { selector: { app: 'reviews', tier: 'back' } } };
    expect(
      selector(
        planOf(
          module,
          fenceObject({ enable: true, workloadSelector: { labels: { x: 'y' }, fromService: true } }),
          [svc],
        ),
      ),
    ).toEqual({ labels: { x: 'y' } });
    expect(
      selector(planOf(module, fenceObject({ enable: true, workloadSelector: { fromService: true } }), [svc])),
    ).toEqual({ labels: { app: 'reviews', tier: 'back' } });
    expect(
      selector(planOf(moduleWith(settingsWith('service: name')), fenceObject({ enable: true }))),
    ).toEqual({ labels: { name: 'reviews' } });
  });

  it('fromService without its Service holds the last Sidecar and says why', () => {
    const plan = planOf(moduleWith(), fenceObject({ enable: true, workloadSelector: { fromService: true } }));
    expect(plan.hold).toBe(true);
    expect(plan.problems).toEqual([]);
    expect(statusOf(plan).conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ServiceNotFound',
    });
  });

  it('a fence not enabled writes no Sidecar', () => {
    const plan = planOf(moduleWith(), fenceObject({ host: { reviews: {} } }));
    expect(plan.desired).toEqual([]);
    expect(statusOf(plan).domains['reviews.default.svc.cluster.local']).toBeDefined();
  });
});

describe('checks', () => {
  it('unknown fields warn with a suggestion; a key that is not a host is a problem', () => {
    const module = moduleWith();
    const plan = planOf(module, fenceObject({ enable: true, hosts: {}, host: { 'not a host!': {} } }));
    expect(plan.warnings).toEqual(['spec.hosts: unknown field, ignored (did you mean host?)']);
    expect(plan.problems).toEqual([
      {
        path: 'spec.host.not a host!',
        message: 'not a host! is not a host name, a short service name or ns/*',
      },
    ]);
    expect(statusOf(plan).conditions.map((c) => [c.type, c.status])).toEqual([
      ['Valid', 'False'],
      ['Ready', 'False'],
      ['CallsObserved', 'True'],
    ]);
  });

  it('the same input gives the same plan; events name the hosts that come and go', () => {
    const module = moduleWith();
    const raw = fenceObject({ enable: true, host: { reviews: {} } });
    const a = planOf(module, raw);
    expect(planOf(module, raw)).toEqual(a);
    const next = planOf(module, { ...withStatus(raw, a), spec: { enable: true, host: { ratings: {} } } });
    expect(module.events!(a.status, next)).toEqual([
      { type: 'Normal', reason: 'HostsAdded', message: 'ratings.default.svc.cluster.local (spec.host)' },
      {
        type: 'Normal',
        reason: 'HostsExpiring',
        message: 'reviews.default.svc.cluster.local (no longer wanted; leaves the Sidecar on the next pass)',
      },
    ]);
  });

  it('is registered with its kinds', () => {
    expect(lazyload.kinds.ServiceFence.group).toBe('microservice.slime.io');
  });
});
