import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDemoApi, type DemoApi } from '../../../test/support/demo-api';
import { metaRouterExamples } from './examples';

const WAIT = { timeout: 15_000, interval: 100 };
const HOST = 'rating-rpc.default.svc.cluster.local';
const ROUTE_CONFIG = `${HOST}_9090`;

/** The rating-rpc MetaRouter with getRating split between v1 and v2. */
const split = (v1: number, v2: number, extra: Record<string, unknown> = {}) =>
  stringify({
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'MetaRouter',
    metadata: { name: 'rating-rpc', namespace: 'default' },
    spec: {
      hosts: [HOST],
      routes: [
        {
          name: 'split',
          match: { attributes: { method: { exact: 'getRating' } } },
          route: [
            { destination: { host: HOST, subset: 'v1' }, weight: v1 },
            { destination: { host: HOST, subset: 'v2' }, weight: v2 },
          ],
          ...extra,
        },
      ],
    },
  });

describe('the metarouter router (createCaller, embedded store)', { timeout: 30_000 }, () => {
  let demo: DemoApi;
  const caller = (who: Parameters<DemoApi['caller']>[0]) => demo.caller(who);

  beforeAll(async () => {
    demo = await startDemoApi();
    // The demo's Thrift service, unless the demo mesh already has it.
    const example = metaRouterExamples('default');
    for (const o of [...example.cluster, example.object])
      if (!(await demo.store.get(o.kind, o.metadata.namespace ?? '', o.metadata.name)))
        await demo.store.create(o);
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('lists the MetaProtocol services with their MetaRouter, and the MetaRouters with their status', async () => {
    await expect
      .poll(async () => (await caller('viewer').metarouter.services()).find((s) => s.host === HOST), WAIT)
      .toMatchObject({
        namespace: 'default',
        name: 'rating-rpc',
        protocols: ['thrift'],
        ports: [expect.objectContaining({ number: 9090, protocol: 'thrift' })],
        metaRouter: { namespace: 'default', name: 'rating-rpc' },
        routeConfigurations: [{ name: ROUTE_CONFIG, from: 'default/rating-rpc' }],
      });
    await expect
      .poll(async () => (await caller('viewer').metarouter.list()).find((r) => r.name === 'rating-rpc'), WAIT)
      .toMatchObject({ host: HOST, ready: 'True', serviceFound: 'True' });
    const got = await caller('viewer').metarouter.get({ namespace: 'default', name: 'rating-rpc' });
    expect(got.yaml).toContain('kind: MetaRouter');
    expect(got.served.map((c) => c.name)).toEqual([ROUTE_CONFIG]);
  });

  it('scopes everything to the namespaces a user may see', async () => {
    const payments = caller('payments').metarouter;
    expect(await payments.services()).toEqual([]);
    expect(await payments.list()).toEqual([]);
    await expect(payments.get({ namespace: 'default', name: 'rating-rpc' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(payments.validate({ yaml: split(50, 50) })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(payments.applyMetaRouter({ yaml: split(50, 50) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(caller('viewer').metarouter.applyMetaRouter({ yaml: split(50, 50) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('validates: weights that do not add up to 100 at their line, unknown fields, the status to come', async () => {
    const bad = await caller('viewer').metarouter.validate({ yaml: split(60, 30) });
    expect(bad.ok).toBe(false);
    const issue = bad.issues.find((i) => i.severity === 'error')!;
    expect(issue).toMatchObject({ path: 'spec.routes[0].route', message: 'weights add up to 90, not 100' });
    expect(issue.line).toBeGreaterThan(5);
    expect(bad.status?.find((c) => c.type === 'Valid')).toMatchObject({ status: 'False' });

    const typo = await caller('viewer').metarouter.validate({ yaml: split(70, 30, { mirrorPercentag: {} }) });
    expect(typo.ok).toBe(true);
    expect(typo.issues).toEqual([
      expect.objectContaining({ severity: 'warning', path: 'spec.routes[0].mirrorPercentag' }),
    ]);
    expect(typo.status?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });

    const syntax = await caller('viewer').metarouter.validate({ yaml: 'kind: [' });
    expect(syntax.issues[0]).toMatchObject({ severity: 'error', line: 1 });
    const wrong = await caller('viewer').metarouter.validate({ object: { kind: 'Sidecar' } });
    expect(wrong.issues[0]).toMatchObject({ path: 'kind' });
  });

  it('previews the object’s diff and the route configuration served after the change', async () => {
    const p = await caller('viewer').metarouter.preview({ yaml: split(75, 25) });
    expect(p.ok).toBe(true);
    expect(p.specDiff.some((l) => l.op === '+' && l.text.includes('weight: 75'))).toBe(true);
    const route = p.routes.find((r) => r.name === ROUTE_CONFIG)!;
    expect(route).toMatchObject({ change: 'changed', from: 'default/rating-rpc' });
    expect(route.lines.some((l) => l.op === '+' && l.text.includes('weight: 75'))).toBe(true);
    expect(route.yaml).toContain(`name: outbound|9090|v1|${HOST}`);

    // Apply would refuse it: no routes to show.
    const bad = await caller('viewer').metarouter.preview({ yaml: split(80, 30) });
    expect(bad).toMatchObject({ ok: false, routes: [] });
    expect(bad.specDiff.length).toBeGreaterThan(0);
  });

  it('applies, serves the new routes, keeps history and rolls back', async () => {
    const before = (await caller('viewer').metarouter.history({ namespace: 'default', name: 'rating-rpc' }))
      .length;
    await expect(caller('editor').metarouter.applyMetaRouter({ yaml: split(10, 20) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const applied = await caller('editor').metarouter.applyMetaRouter({ yaml: split(80, 20) });
    expect(applied).toMatchObject({ namespace: 'default', name: 'rating-rpc' });
    await expect
      .poll(async () => {
        const got = await caller('viewer').metarouter.get({ namespace: 'default', name: 'rating-rpc' });
        return JSON.stringify(got.served);
      }, WAIT)
      .toContain('"weight":80');
    const history = await caller('viewer').metarouter.history({ namespace: 'default', name: 'rating-rpc' });
    expect(history).toHaveLength(before + 1);
    expect(history[0]).toMatchObject({ id: applied.auditId, action: 'apply', user: 'ed' });
    expect(
      (await caller('viewer').metarouter.list()).find((r) => r.name === 'rating-rpc')!.lastChange,
    ).toMatchObject({ user: 'ed', action: 'apply' });

    const second = await caller('editor').metarouter.applyMetaRouter({ yaml: split(50, 50) });
    await caller('editor').metarouter.rollback({
      namespace: 'default',
      name: 'rating-rpc',
      toId: applied.auditId,
    });
    const back = await caller('viewer').metarouter.get({ namespace: 'default', name: 'rating-rpc' });
    expect(back.yaml).toContain('weight: 80');
    const after = await caller('viewer').metarouter.history({ namespace: 'default', name: 'rating-rpc' });
    expect(after[0]).toMatchObject({ action: 'rollback', restoredFrom: applied.auditId });
    expect(after[1]!.id).toBe(second.auditId);
    await expect(
      caller('editor').metarouter.rollback({ namespace: 'default', name: 'other', toId: applied.auditId }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists subscriptions and method traffic, each to those who may see its service', async () => {
    const at = new Date().toISOString();
    demo.governor.routeStatus.replaceAll([
      {
        routeConfig: ROUTE_CONFIG,
        node: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local',
        version: '3',
        acked: true,
        connectedAt: at,
      },
      {
        routeConfig: ROUTE_CONFIG,
        node: 'sidecar~10.0.0.2~b.default~default.svc.cluster.local',
        version: '3',
        acked: false,
        error: 'bad regex',
        connectedAt: at,
      },
      {
        routeConfig: 'elsewhere.example_1',
        node: 'sidecar~10.0.0.3~c.x~x.svc.cluster.local',
        version: '1',
        acked: true,
        connectedAt: at,
      },
    ]);
    const row = {
      method: 'getRating',
      route: 'split',
      cluster: `outbound|9090|v1|${HOST}`,
      subset: 'v1',
      rps: 10,
      localLimitedRps: 1,
      globalLimitedRps: 0,
      errorRps: 0,
      mirroredRps: 0,
    };
    demo.governor.setMethodTraffic({
      rows: (host) =>
        [
          { ...row, host: HOST },
          { ...row, host: 'elsewhere.example' },
        ].filter((r) => host === undefined || r.host === host),
    });
    const subs = await caller('viewer').metarouter.subscriptions({ routeConfig: ROUTE_CONFIG });
    expect(subs.map((s) => [s.acked, s.error ?? null])).toEqual([
      [true, null],
      [false, 'bad regex'],
    ]);
    expect(await caller('viewer').metarouter.subscriptions()).toHaveLength(3);
    expect(await caller('editor').metarouter.subscriptions()).toHaveLength(2);
    expect(await caller('payments').metarouter.subscriptions()).toEqual([]);
    expect(await caller('viewer').metarouter.methods({ host: HOST })).toEqual([{ ...row, host: HOST }]);
    expect(await caller('editor').metarouter.methods()).toEqual([{ ...row, host: HOST }]);
    expect(await caller('payments').metarouter.methods()).toEqual([]);
  });
});
