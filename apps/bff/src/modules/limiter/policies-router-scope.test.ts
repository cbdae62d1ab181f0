/**
 * `policies.validate` answers only about namespaces the caller may see: its issues name the namespace's
 * metrics, subsets and services.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../cluster/store';
import type { User } from '../../auth/auth';
import { callerOf, startDemoApi, type DemoApi } from '../../../test/support/demo-api';

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
  let demo: DemoApi;
  const payments: User = { name: 'pia', role: 'viewer', namespaces: ['payments'] };
  const everyone: User = { name: 'vic', role: 'viewer', namespaces: '*' };
  const caller = (user: User) => callerOf(demo.api.deps, user);

  beforeAll(async () => {
    // Bookinfo in `default` (reviews has subsets v1, v2, v3), and a ledger with a subset `blue` in `payments`.
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
    demo = await startDemoApi({ objects, simulate: false });
    await vi.waitFor(() =>
      expect(demo.governor.controlPlane.snapshot.list('DestinationRule', 'payments')).toHaveLength(1),
    );
  });
  afterAll(() => demo.close());

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
