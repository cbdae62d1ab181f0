import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TRPCError } from '@trpc/server';
import type { EmbeddedStore } from '../cluster/embedded-store';
import type { KubeObject } from '../cluster/store';
import type { User } from '../auth/auth';
import type { Api } from './create-api';
import { appRouter } from './router';
import type { Context } from '../api/trpc';
import { DEMO_API_ORIGIN, startDemoApi, type DemoApi } from '../../test/support/demo-api';
import { limiterOf } from '../modules/limiter/service';

const ORIGIN = DEMO_API_ORIGIN;
const WAIT = { timeout: 15_000, interval: 100 };

const policyYaml = (
  name: string,
  quota: string,
  condition = 'true',
) => `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata:
  name: ${name}
  namespace: default
spec:
  sets:
    _base:
      descriptor:
        - action:
            fill_interval: { seconds: 1 }
            quota: "${quota}"
            strategy: single
          condition: "${condition}"
          target: { port: 9080 }
`;

describe('the API routers (createCaller, embedded store)', () => {
  let demo: DemoApi;
  let store: EmbeddedStore;
  let api: Api;
  const users: Record<string, User> = {
    admin: { name: 'admin', role: 'admin', namespaces: '*' },
    editor: { name: 'ed', role: 'editor', namespaces: ['default'] },
    otherEditor: { name: 'olga', role: 'editor', namespaces: ['payments'] },
    viewer: { name: 'vic', role: 'viewer', namespaces: '*' },
  };
  const caller = (who: keyof typeof users | null, via: 'cookie' | 'bearer' = 'bearer', origin?: string) => {
    const ctx: Context = {
      deps: api.deps,
      user: who ? users[who]! : null,
      via: who ? via : null,
      sessionId: null,
      origin,
      res: undefined,
    };
    return appRouter.createCaller(ctx);
  };

  beforeAll(async () => {
    demo = await startDemoApi({ objects: [] });
    ({ store, api } = demo);
  });
  afterAll(() => demo.close());

  it('lists the services with live figures and the policies that apply; cluster health names the parts', async () => {
    await vi.waitFor(async () => {
      const services = await caller('viewer').services.list();
      expect(services.map((s) => s.name)).toEqual([
        'details',
        'productpage',
        'rating-rpc',
        'ratings',
        'reviews',
      ]);
      const reviews = services.find((s) => s.name === 'reviews')!;
      expect(reviews.pods).toBe(3);
      expect(reviews.rps).toBeGreaterThan(0);
      expect(reviews.policies.map((p) => p.name)).toEqual(['reviews']);
    }, WAIT);
    const detail = await caller('viewer').services.get({ namespace: 'default', name: 'reviews' });
    expect(detail.subsets.map((s) => s.name)).toEqual(['v1', 'v2', 'v3']);
    const health = await caller('viewer').cluster.health();
    expect(health).toMatchObject({ mode: 'embedded', leader: true, metrics: { source: 'embedded mesh' } });
    expect(health.store).toMatchObject({ connected: true, error: null });
    expect(await caller('viewer').cluster.namespaces()).toEqual(['default']);
    await expect(caller(null).services.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('validates YAML with field paths and line/column, naming an unknown metric', async () => {
    const r = await caller('viewer').policies.validate({
      yaml: policyYaml('reviews', '10', '{{._base.cpu.percnt}}>80'),
    });
    expect(r.ok).toBe(false);
    const issue = r.issues.find((i) => i.message.includes('cpu.percnt'))!;
    expect(issue).toMatchObject({
      path: 'spec.sets._base.descriptor[0].condition',
      line: 14,
      severity: 'error',
    });
    const syntax = await caller('viewer').policies.validate({ yaml: 'spec: [unclosed' });
    expect(syntax.ok).toBe(false);
    expect(syntax.issues[0]).toMatchObject({ line: 1 });
    const ok = await caller('viewer').policies.validate({ yaml: policyYaml('ratings', '5') });
    expect(ok).toEqual({ ok: true, issues: [] });
  });

  it("lists the demo's plugins on the services whose pods they select", async () => {
    const services = await caller('viewer').services.list();
    const pluginsOf = (name: string) => services.find((s) => s.name === name)!.plugins;
    expect(pluginsOf('ratings')).toEqual(['PluginManager default/ratings-fault']);
    expect(pluginsOf('productpage')).toEqual(['EnvoyPlugin default/productpage-fault']);
    expect(pluginsOf('reviews')).toEqual([]);
  });

  it("counts a service's 5xx answers, a fault filter's aborts among them, in its figures", async () => {
    const ratings = async () => (await caller('viewer').services.list()).find((s) => s.name === 'ratings')!;
    expect((await ratings()).errorRps).toBe(0);
    await store.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'ratings-abort-test', namespace: 'default' },
      spec: {
        workloadSelector: { labels: { app: 'ratings' } },
        configPatches: [
          {
            applyTo: 'HTTP_FILTER',
            match: {
              context: 'SIDECAR_INBOUND',
              listener: {
                filterChain: {
                  filter: {
                    name: 'envoy.filters.network.http_connection_manager',
                    subFilter: { name: 'envoy.filters.http.router' },
                  },
                },
              },
            },
            patch: {
              operation: 'INSERT_BEFORE',
              value: {
                name: 'envoy.filters.http.fault',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
                  abort: { http_status: 503, percentage: { numerator: 100 } },
                },
              },
            },
          },
        ],
      },
    });
    await vi.waitFor(async () => expect((await ratings()).errorRps).toBeGreaterThan(0), WAIT);
    await store.delete('EnvoyFilter', 'default', 'ratings-abort-test');
  });

  it("marks a service its lazyload fence covers, with its Sidecar's egress host count", async () => {
    expect((await caller('viewer').services.list()).every((s) => s.fence === null)).toBe(true);
    await store.create({
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'ServiceFence',
      metadata: { name: 'ratings', namespace: 'default' },
      spec: { enable: true },
    });
    await vi.waitFor(async () => {
      const services = await caller('viewer').services.list();
      // Istio's and Governor's namespaces; ratings calls nothing.
      expect(services.find((s) => s.name === 'ratings')!.fence).toEqual({ enabled: true, hosts: 2 });
      expect(services.find((s) => s.name === 'reviews')!.fence).toBeNull();
    }, WAIT);
    await store.delete('ServiceFence', 'default', 'ratings');
  });

  it('previews where istiod applies each patch, on the first Pod selected or the one asked for', async () => {
    const input = { yaml: policyYaml('reviews', '5') };
    const preview = await caller('viewer').policies.preview(input);
    const placement = preview.placement!;
    expect(placement.pods).toEqual(expect.arrayContaining([expect.stringMatching(/^default\/reviews-v1-/)]));
    expect(placement.pods.length).toBe(3);
    expect(placement.proxy).toBe(placement.pods[0]);
    expect(placement.explanation!.proxy.type).toBe('sidecar');
    expect(placement.explanation!.patches.map((p) => [p.applyTo, p.places])).toContainEqual([
      'HTTP_ROUTE',
      [{ routeConfiguration: 'inbound|9080||', virtualHost: 'inbound|http|9080', route: 'default' }],
    ]);
    const second = await caller('viewer').policies.preview({ ...input, proxy: placement.pods[1]! });
    expect(second.placement!.proxy).toBe(placement.pods[1]);
    // A Pod of another namespace is not the policy's to explain: the first selected one is.
    const elsewhere = await caller('viewer').policies.preview({ ...input, proxy: 'payments/x' });
    expect(elsewhere.placement!.proxy).toBe(placement.pods[0]);
    await expect(caller('viewer').policies.preview({ ...input, proxy: '../etc' })).rejects.toThrow(
      /NAMESPACE\/POD/,
    );

    // Outbound to reviews on port 80, which reviews does not serve: those patches land nowhere.
    const wrongPort = {
      yaml: policyYaml('productpage', '5').replace(
        'target: { port: 9080 }',
        'target: { direction: outbound, port: 80, route: [reviews.default.svc.cluster.local/default] }',
      ),
    };
    const unmatched = (
      await caller('viewer').policies.preview(wrongPort)
    ).placement!.explanation!.patches.filter((p) => p.places.length === 0);
    expect(unmatched.map((p) => p.applyTo)).toEqual(['HTTP_ROUTE', 'HTTP_ROUTE']);
    expect(unmatched[0]!.reason).toContain('reviews.default.svc.cluster.local:80');
    // Nearest candidates may be other namespaces' services: a user scoped to namespaces gets the bare fact.
    const scoped = (await caller('editor').policies.preview(wrongPort)).placement!.explanation!.patches;
    expect(scoped.filter((p) => p.places.length === 0).map((p) => p.reason)).toEqual([
      'matches nothing on this Pod',
      'matches nothing on this Pod',
    ]);
  });

  it('previews the exact EnvoyFilters that apply writes; after apply the diff is empty', async () => {
    const input = { yaml: policyYaml('ratings', '5') };
    const preview = await caller('editor').policies.preview(input);
    expect(preview.ok).toBe(true);
    expect(preview.envoyFilters.map((e) => e.metadata.name)).toEqual(['ratings.default.ratelimit']);
    expect(preview.diff).toEqual([
      expect.objectContaining({ name: 'ratings.default.ratelimit', change: 'added' }),
    ]);
    await caller('editor', 'cookie', ORIGIN).policies.applyPolicy(input);
    let written: KubeObject | null = null;
    await vi.waitFor(async () => {
      written = await store.get('EnvoyFilter', 'default', 'ratings.default.ratelimit');
      expect(written).not.toBeNull();
    }, WAIT);
    expect(JSON.stringify(written!.spec)).toBe(JSON.stringify(preview.envoyFilters[0]!.spec));
    await vi.waitFor(async () => {
      const again = await caller('editor').policies.preview(input);
      expect(again.diff.map((d) => d.change)).toEqual(['unchanged']);
      expect(again.specDiff.every((l) => l.op === ' ')).toBe(true);
    }, WAIT);
  });

  it('keeps every applied version with its author; rollback restores one and the audit log shows it all', async () => {
    const ed = caller('editor', 'cookie', ORIGIN);
    const first = await ed.policies.applyPolicy({ yaml: policyYaml('details', '11') });
    await ed.policies.applyPolicy({ yaml: policyYaml('details', '22') });
    const history = await caller('viewer').policies.history({ namespace: 'default', name: 'details' });
    expect(history.slice(0, 2).map((h) => [h.action, h.user])).toEqual([
      ['apply', 'ed'],
      ['apply', 'ed'],
    ]);
    expect(history[0]!.diff.some((l) => l.op === '+' && l.text.includes('"22"'))).toBe(true);
    await ed.policies.rollback({ namespace: 'default', name: 'details', toId: first.auditId });
    const spec = (await store.get('SmartLimiter', 'default', 'details'))!.spec as {
      sets: { _base: { descriptor: { action: { quota: string } }[] } };
    };
    expect(spec.sets._base.descriptor[0]!.action.quota).toBe('11');
    const audit = await caller('admin').audit.list({ namespace: 'default', name: 'details' });
    expect(audit.slice(0, 3).map((a) => a.action)).toEqual(['rollback', 'apply', 'apply']);
    expect(audit[0]).toMatchObject({ user: 'ed', restoredFrom: first.auditId });
    expect(audit[1]!.before).toMatchObject({ spec: { sets: { _base: {} } } });
    const events = await caller('viewer').events.list({ policy: 'default/details' });
    expect(events.map((e) => e.reason)).toContain('PolicyRolledBack');
  });

  it('refuses changes by role, namespace, session and origin, changing nothing', async () => {
    const before = JSON.stringify((await store.get('SmartLimiter', 'default', 'productpage'))?.spec);
    const input = { yaml: policyYaml('productpage', '1') };
    const refusals: [string, Promise<unknown>, string][] = [
      ['viewer', caller('viewer').policies.applyPolicy(input), 'FORBIDDEN'],
      [
        'viewer delete',
        caller('viewer').policies.delete({ namespace: 'default', name: 'productpage' }),
        'FORBIDDEN',
      ],
      [
        'viewer rollback',
        caller('viewer').policies.rollback({ namespace: 'default', name: 'productpage', toId: 1 }),
        'FORBIDDEN',
      ],
      ['editor of another namespace', caller('otherEditor').policies.applyPolicy(input), 'FORBIDDEN'],
      ['no session', caller(null).policies.applyPolicy(input), 'UNAUTHORIZED'],
      [
        'foreign origin',
        caller('editor', 'cookie', 'https://evil.example').policies.applyPolicy(input),
        'FORBIDDEN',
      ],
      ['no origin with a cookie', caller('editor', 'cookie').policies.applyPolicy(input), 'FORBIDDEN'],
    ];
    for (const [what, call, code] of refusals) {
      const error = await call.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code, what).toBe(code);
    }
    expect(JSON.stringify((await store.get('SmartLimiter', 'default', 'productpage'))?.spec)).toBe(before);
    expect((await caller('admin').audit.list({ name: 'productpage' })).length).toBe(0);
  });

  it('refuses an invalid policy with its field issues and oversized input, storing nothing', async () => {
    const error = await caller('admin')
      .policies.applyPolicy({ yaml: policyYaml('reviews', '{{._base.nope}}') })
      .then(
        () => null,
        (e: unknown) => e as TRPCError,
      );
    expect(error?.code).toBe('BAD_REQUEST');
    expect(error?.message).toContain('nope');
    await expect(caller('admin').policies.validate({ yaml: 'x'.repeat(300_000) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('replays a policy against the recorded traffic of its service', async () => {
    await vi.waitFor(async () => {
      const r = await caller('viewer').replay.run({ policy: policyYaml('ratings', '2'), recentSeconds: 5 });
      expect(r.summary.requests).toBeGreaterThan(10);
      expect(r.summary.limited).toBeGreaterThan(0);
      expect(r.seconds.length).toBeGreaterThan(2);
    }, WAIT);
  });

  it('refuses a replay while two run for this Governor, and takes one when a slot is free', async () => {
    const service = limiterOf(api.deps.modules);
    service.replaysRunning = 2;
    try {
      await expect(
        caller('viewer').replay.run({ policy: policyYaml('ratings', '2'), recentSeconds: 5 }),
      ).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    } finally {
      service.replaysRunning = 0;
    }
    const r = await caller('viewer').replay.run({ policy: policyYaml('ratings', '2'), recentSeconds: 5 });
    expect(r.summary.requests).toBeGreaterThanOrEqual(0);
    expect(service.replaysRunning).toBe(0);
  });

  it('serves chart series for a service from the mesh history', async () => {
    await vi.waitFor(async () => {
      const s = await caller('viewer').metrics.series({
        namespace: 'default',
        service: 'productpage',
        range: '1m',
      });
      expect(s.source).toBe('embedded mesh');
      expect(s.points.length).toBeGreaterThan(2);
      expect(s.points.at(-1)!.rps).toBeGreaterThan(0);
    }, WAIT);
  });
});
