/**
 * `policies.validate` answers only about namespaces the caller may see: its issues name the namespace's
 * metrics, subsets and services.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../../cluster/embedded-store';
import type { KubeObject } from '../../cluster/store';
import { seedDemoMesh } from '../../demo/seed';
import { Governor } from '../../governor';
import { AuditLog } from '../../audit/audit-log';
import { Auth, type User } from '../../auth/auth';
import { createApi, type Api } from '../../trpc/create-api';
import { appRouter } from '../../trpc/router';
import { MODULES } from '..';

const limiter = (namespace: string, name: string, set: string) => `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  sets:
    ${set}:
      descriptor:
        - action: { fill_interval: { seconds: 1 }, quota: "10", strategy: single }
          condition: "{{.${set}.cpu.nope}} > 1"
`;

describe('policies.validate and namespaces', () => {
  let store: EmbeddedStore;
  let governor: Governor;
  let api: Api;
  const payments: User = { name: 'pia', role: 'viewer', namespaces: ['payments'] };
  const everyone: User = { name: 'vic', role: 'viewer', namespaces: '*' };
  const caller = (user: User) =>
    appRouter.createCaller({
      deps: api.deps,
      user,
      via: 'bearer',
      sessionId: null,
      origin: undefined,
      res: undefined,
    });

  beforeAll(async () => {
    store = await EmbeddedStore.open({});
    // Bookinfo in `default` (reviews has subsets v1, v2, v3), and a ledger with a subset `blue` in `payments`.
    await seedDemoMesh(store);
    const objects: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ledger', namespace: 'payments' },
        spec: { selector: { app: 'ledger' }, ports: [{ port: 8080 }] },
      },
      {
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'DestinationRule',
        metadata: { name: 'ledger', namespace: 'payments' },
        spec: { host: 'ledger', subsets: [{ name: 'blue', labels: { track: 'blue' } }] },
      },
    ];
    for (const o of objects) await store.create(o);
    governor = new Governor({
      modules: MODULES,
      store,
      simulate: false,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
    });
    api = createApi({
      governor,
      store,
      mode: 'embedded',
      auth: new Auth(),
      audit: new AuditLog(),
      allowedOrigins: [],
    });
    await governor.start();
    api.start();
    await vi.waitFor(() =>
      expect(governor.controlPlane.snapshot.list('DestinationRule', 'payments')).toHaveLength(1),
    );
  });
  afterAll(async () => {
    api.stop();
    await governor.stop();
    await store.close();
  });

  it('refuses a viewer a policy in a namespace not theirs, as apply does', async () => {
    await expect(
      caller(payments).policies.validate({ yaml: limiter('default', 'reviews', 'v1') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'pia may not see namespace default' });
    // Someone who may see `default` learns its subsets from the same request.
    const r = await caller(everyone).policies.validate({ yaml: limiter('default', 'reviews', 'v9') });
    expect(r.issues.map((i) => i.message).join('\n')).toContain('subsets: v1, v2, v3');
  });

  it("suggests only the caller's namespace's names", async () => {
    const r = await caller(payments).policies.validate({ yaml: limiter('payments', 'ledger', 'v1') });
    expect(r.ok).toBe(false);
    const text = r.issues.map((i) => i.message).join('\n');
    expect(text).toContain('subsets: blue');
    expect(text).not.toMatch(/\bv2\b|\bv3\b|reviews|productpage/);
    const metric = await caller(payments).policies.validate({ yaml: limiter('payments', 'ledger', '_base') });
    const known = metric.issues.map((i) => i.message).join('\n');
    expect(known).toMatch(/unknown metric "_base\.cpu\.nope"; known: /);
    expect(known).not.toMatch(/v1|v2|v3|reviews/);
  });
});
