import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoApi, type DemoApi } from '../../../test/support/demo-api';
import { stringify } from 'yaml';

const WAIT = { timeout: 15_000, interval: 100 };
const FAULT = 'envoy.filters.http.fault';
const ROUTER = 'envoy.filters.http.router';

/** The demo's ratings-fault PluginManager with its fault plugin on or off. */
const ratingsFault = (
  enable: boolean,
  settings: Record<string, unknown> = { abort: { http_status: 503, percentage: { numerator: 50 } } },
) =>
  stringify({
    apiVersion: 'microservice.slime.io/v1alpha1',
    kind: 'PluginManager',
    metadata: { name: 'ratings-fault', namespace: 'default' },
    spec: {
      workloadLabels: { app: 'ratings' },
      plugin: [{ enable, name: FAULT, listenerType: 'Inbound', port: 9080, inline: { settings } }],
    },
  });

type Chains = { direction: string; port?: number; filters: { name: string; by: unknown }[] }[];
const inbound9080 = (w: { chains: Chains }) =>
  w.chains.find((c) => c.direction === 'inbound' && c.port === 9080)!;

describe('the plugins router (createCaller, embedded store)', { timeout: 30_000 }, () => {
  let demo: DemoApi;
  const caller = (who: Parameters<DemoApi['caller']>[0]) => demo.caller(who);

  beforeAll(async () => {
    demo = await startDemoApi();
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('lists the workloads with their chains and the plugin objects selecting them', async () => {
    const all = await caller('viewer').plugins.workloads();
    expect(all.map((w) => `${w.namespace}/${w.name}`)).toEqual(
      expect.arrayContaining([
        'default/productpage',
        'default/ratings',
        'default/reviews',
        'payments/ledger',
      ]),
    );
    const ratings = all.find((w) => w.name === 'ratings')!;
    expect(ratings.plugins).toEqual([
      expect.objectContaining({
        kind: 'PluginManager',
        name: 'ratings-fault',
        plugins: [expect.objectContaining({ name: FAULT, enabled: false })],
      }),
    ]);
    const inbound = inbound9080(ratings);
    expect(inbound.filters.at(-1)).toEqual({ name: ROUTER, by: 'istio' });
    expect(inbound.filters.filter((f) => f.by !== 'istio')).toEqual([]);
    expect(ratings.chains.some((c) => c.direction === 'outbound')).toBe(true);
  });

  it('scopes workloads and objects to the namespaces a user may see', async () => {
    const scoped = await caller('payments').plugins.workloads();
    expect(scoped.map((w) => `${w.namespace}/${w.name}`)).toEqual(['payments/ledger']);
    expect(await caller('payments').plugins.list()).toEqual([]);
    await expect(caller('payments').plugins.workloads({ namespace: 'default' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(caller('payments').plugins.applyPlugin({ yaml: ratingsFault(true) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('validates settings against Envoy’s catalog, with paths, lines and the closest field', async () => {
    const r = await caller('viewer').plugins.validate({
      yaml: ratingsFault(true, { abort: { http_statuss: 503 } }),
    });
    expect(r.ok).toBe(false);
    const issue = r.issues.find((i) => i.severity === 'error')!;
    expect(issue.path).toContain('spec.plugin[0].inline.settings.abort');
    expect(issue.message).toContain('http_status');
    expect(issue.line).toBeGreaterThan(1);
    const bad = await caller('viewer').plugins.validate({ yaml: 'kind: [' });
    expect(bad.issues[0]).toMatchObject({ severity: 'error', line: 1 });
    const wrongKind = await caller('viewer').plugins.validate({ object: { kind: 'Sidecar' } });
    expect(wrongKind.issues[0]).toMatchObject({ path: 'kind' });
  });

  it('previews turning the fault plugin on: the EnvoyFilter’s diff and ratings’ chain with it', async () => {
    const p = await caller('viewer').plugins.preview({ yaml: ratingsFault(true) });
    expect(p.ok).toBe(true);
    expect(p.kind).toBe('PluginManager');
    expect(p.diff).toEqual([expect.objectContaining({ name: 'ratings-fault', change: 'changed' })]);
    expect(p.specDiff.some((l) => l.op === '+' && l.text.includes('enable: true'))).toBe(true);
    const ratings = p.workloads.find((w) => w.name === 'ratings')!;
    const names = inbound9080(ratings).filters.map((f) => f.name);
    expect(names.slice(-2)).toEqual([FAULT, ROUTER]);
    expect(inbound9080(ratings).filters.at(-2)!.by).toEqual({
      envoyFilter: 'default/ratings-fault',
      patch: 0,
      owner: 'PluginManager default/ratings-fault',
    });
    expect(p.workloads.map((w) => w.name)).toEqual(['ratings']);
  });

  it('applies, shows the filter in the chain, keeps history, rolls back and deletes', async () => {
    const applied = await caller('editor').plugins.applyPlugin({ yaml: ratingsFault(true) });
    expect(applied).toMatchObject({ kind: 'PluginManager', namespace: 'default', name: 'ratings-fault' });
    await expect
      .poll(async () => {
        const w = (await caller('viewer').plugins.workloads({ namespace: 'default' })).find(
          (x) => x.name === 'ratings',
        )!;
        return inbound9080(w).filters.at(-2);
      }, WAIT)
      .toMatchObject({ name: FAULT, by: { owner: 'PluginManager default/ratings-fault' } });
    await expect(
      caller('editor').plugins.applyPlugin({ yaml: ratingsFault(true, { abort: { http_statuss: 1 } }) }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });

    const history = await caller('viewer').plugins.history({
      kind: 'PluginManager',
      namespace: 'default',
      name: 'ratings-fault',
    });
    expect(history[0]).toMatchObject({ id: applied.auditId, action: 'apply', user: 'ed' });
    const list = await caller('viewer').plugins.list({ namespace: 'default' });
    expect(list.find((o) => o.name === 'ratings-fault')!.lastChange).toMatchObject({ user: 'ed' });

    await caller('editor').plugins.delete({
      kind: 'PluginManager',
      namespace: 'default',
      name: 'ratings-fault',
    });
    await expect(
      caller('viewer').plugins.get({ kind: 'PluginManager', namespace: 'default', name: 'ratings-fault' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await caller('editor').plugins.rollback({
      kind: 'PluginManager',
      namespace: 'default',
      name: 'ratings-fault',
      toId: applied.auditId,
    });
    const back = await caller('viewer').plugins.get({
      kind: 'PluginManager',
      namespace: 'default',
      name: 'ratings-fault',
    });
    expect(back.plugins[0]).toMatchObject({ name: FAULT, enabled: true });
  });
});
