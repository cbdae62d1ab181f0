import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmbeddedStore } from '../../cluster/embedded-store';
import type { Governor } from '../../governor';
import { startDemoApi, type DemoApi } from '../../../test/support/demo-api';

const WAIT = { timeout: 15_000, interval: 100 };
const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';

const enableFence = (name: string, namespace = 'default') => ({
  object: { metadata: { name, namespace }, spec: { enable: true } },
});

describe('the lazyload router (createCaller, embedded store)', { timeout: 30_000 }, () => {
  let demo: DemoApi;
  let store: EmbeddedStore;
  let governor: Governor;
  const caller = (who: Parameters<DemoApi['caller']>[0]) => demo.caller(who);

  beforeAll(async () => {
    demo = await startDemoApi();
    ({ store, governor } = demo);
    const now = Date.now();
    governor.observedCalls.record('mesh', { namespace: 'default', app: 'productpage' }, REVIEWS, 40, now);
    governor.observedCalls.record('fallback', { namespace: 'default', app: 'productpage' }, RATINGS, 3, now);
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('lists every workload the user may see, fenced or not, with its config size with the fence planned', async () => {
    const all = await caller('viewer').lazyload.workloads();
    expect(all.map((w) => `${w.namespace}/${w.name}`)).toEqual([
      'default/details',
      'default/productpage',
      'default/rating-rpc',
      'default/ratings',
      'default/reviews',
      'payments/ledger',
    ]);
    const productpage = all.find((w) => w.name === 'productpage')!;
    expect(productpage.fence).toBeNull();
    expect(productpage.pods.length).toBeGreaterThan(0);
    expect(productpage.size.withFence).toMatchObject({ from: 'plan' });
    expect(productpage.size.withFence!.clusters).toBeLessThan(productpage.size.withoutFence.clusters);
    expect(productpage.fallbackCalls).toEqual([expect.objectContaining({ destination: RATINGS, count: 3 })]);
  });

  it("lists a workload's VMs (WorkloadEntries) beside its pods, and a workload of VMs only", async () => {
    const details = (await caller('viewer').lazyload.workloads()).find((w) => w.name === 'details')!;
    expect(details.pods).toEqual(['details-v1-698d88b-lfbqm']);
    expect(details.vms).toEqual(['details-vm']);
    // The mesh sends the VM its share of details' traffic.
    expect(governor.mesh!.simulator.podStatus().map((p) => p.pod)).toContain('details-vm');

    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'legacy', namespace: 'default' },
      spec: { selector: { app: 'legacy' }, ports: [{ name: 'http', port: 8080 }] },
    });
    const vm = await store.create({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'WorkloadEntry',
      metadata: { name: 'legacy-vm', namespace: 'default' },
      spec: { address: '10.0.2.30', labels: { app: 'legacy' } },
    });
    try {
      await vi.waitFor(async () => {
        const legacy = (await caller('viewer').lazyload.workloads()).find((w) => w.name === 'legacy');
        expect(legacy).toMatchObject({ pods: [], vms: ['legacy-vm'], size: { pod: 'default/legacy-vm' } });
      }, WAIT);
    } finally {
      await store.delete('WorkloadEntry', 'default', vm.metadata.name);
      await store.delete('Service', 'default', 'legacy');
    }
  });

  it('scopes workloads to the namespaces a user may see', async () => {
    const scoped = await caller('payments').lazyload.workloads();
    expect(scoped.map((w) => `${w.namespace}/${w.name}`)).toEqual(['payments/ledger']);
    await expect(caller('payments').lazyload.workloads({ namespace: 'default' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(caller('payments').lazyload.preview(enableFence('productpage'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(caller('payments').lazyload.applyFence(enableFence('productpage'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('previews the Sidecar a fence would write, with a diff, and refuses an invalid fence', async () => {
    const preview = await caller('viewer').lazyload.preview(enableFence('productpage'));
    expect(preview.ok).toBe(true);
    expect(preview.diff.map((d) => [d.name, d.change])).toEqual([['Sidecar/productpage', 'added']]);
    expect(preview.yaml).toContain(`*/${REVIEWS}`);
    expect(preview.yaml).toContain(`*/${RATINGS}`);
    expect(preview.specDiff.some((l) => l.op === '+' && l.text.includes('enable: true'))).toBe(true);

    const bad = await caller('viewer').lazyload.preview({
      yaml: 'metadata: {name: productpage, namespace: default}\nspec: {host: {"not a host!": {stable: {}}}}\n',
    });
    expect(bad.ok).toBe(false);
    expect(bad.issues[0]).toMatchObject({ path: 'spec.host.not a host!', severity: 'error' });
    await expect(
      caller('editor').lazyload.applyFence({
        object: { metadata: { name: 'productpage' }, spec: { host: { 'not a host!': {} } } },
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const broken = await caller('viewer').lazyload.preview({ yaml: 'metadata: [' });
    expect(broken.ok).toBe(false);
  });

  it('applies a fence (editors only): the Sidecar comes with reasons and a smaller config; delete removes it', async () => {
    await expect(caller('viewer').lazyload.applyFence(enableFence('productpage'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const applied = await caller('editor').lazyload.applyFence(enableFence('productpage'));
    expect(applied).toMatchObject({ namespace: 'default', name: 'productpage' });

    await vi.waitFor(async () => {
      const w = (await caller('viewer').lazyload.workloads({ namespace: 'default' })).find(
        (x) => x.name === 'productpage',
      )!;
      expect(w.fence).toMatchObject({ enabled: true });
      expect(w.sidecar).toEqual({ name: 'productpage' });
      expect(w.fence!.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
      const byHost = new Map(w.hosts.map((h) => [h.host, h]));
      expect(byHost.get('istio-system/*')).toMatchObject({ kind: 'istio' });
      expect(byHost.get(`*/${REVIEWS}`)).toMatchObject({
        kind: 'observed',
        domain: REVIEWS,
        status: 'ACTIVE',
        expiresAt: null,
      });
      expect(byHost.get(`*/${REVIEWS}`)!.calls).toBeGreaterThanOrEqual(40);
      expect(byHost.get(`*/${REVIEWS}`)!.lastSeen).not.toBeNull();
      expect(byHost.get(`*/${RATINGS}`)).toMatchObject({ kind: 'observed' });
      expect(w.size.withFence).toMatchObject({ from: 'sidecar' });
      expect(w.size.withFence!.clusters).toBeLessThan(w.size.withoutFence.clusters);
      expect(w.size.withFence!.virtualHosts).toBeLessThan(w.size.withoutFence.virtualHosts);
    }, WAIT);

    // The preview of the same fence now changes nothing.
    const again = await caller('viewer').lazyload.preview(enableFence('productpage'));
    expect(again.diff.map((d) => [d.name, d.change])).toEqual([['Sidecar/productpage', 'unchanged']]);

    const audit = await caller('admin').audit.list({});
    expect(audit.some((r) => r.kind === 'ServiceFence' && r.action === 'apply' && r.user === 'ed')).toBe(
      true,
    );

    await caller('editor').lazyload.deleteFence({ namespace: 'default', name: 'productpage' });
    await vi.waitFor(async () => {
      const w = (await caller('viewer').lazyload.workloads()).find((x) => x.name === 'productpage')!;
      expect(w.fence).toBeNull();
      expect(w.sidecar).toBeNull();
      expect(await store.get('Sidecar', 'default', 'productpage')).toBeFalsy();
    }, WAIT);
    await expect(
      caller('editor').lazyload.deleteFence({ namespace: 'default', name: 'productpage' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('gives the reasons of spec.host entries: stable, and deadline with its time', async () => {
    const expire = Math.floor(Date.now() / 1000) + 3600;
    await caller('editor').lazyload.applyFence({
      object: {
        metadata: { name: 'reviews', namespace: 'default' },
        spec: {
          enable: true,
          host: { ratings: { stable: {} }, details: { deadline: { expire: { seconds: expire } } } },
        },
      },
    });
    await vi.waitFor(async () => {
      const w = (await caller('viewer').lazyload.workloads()).find((x) => x.name === 'reviews')!;
      const byHost = new Map(w.hosts.map((h) => [h.host, h]));
      expect(byHost.get(`*/${RATINGS}`)).toMatchObject({ kind: 'stable', expiresAt: null });
      expect(byHost.get('*/details.default.svc.cluster.local')).toMatchObject({
        kind: 'deadline',
        expiresAt: new Date(expire * 1000).toISOString(),
      });
    }, WAIT);
  });
});
