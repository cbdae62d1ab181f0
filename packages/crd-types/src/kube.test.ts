import { describe, expect, it } from 'vitest';
import { workloadEntrySchema } from './kube';

describe('WorkloadEntry', () => {
  it('reads the fields Istio gives a VM and keeps the rest', () => {
    const r = workloadEntrySchema.parse({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'WorkloadEntry',
      metadata: { name: 'details-vm', namespace: 'default' },
      spec: {
        address: '10.0.2.15',
        labels: { app: 'details', version: 'v1-vm' },
        ports: { http: 9080 },
        network: 'vm-net',
        locality: 'us-east/zone1',
        weight: 1,
        serviceAccount: 'bookinfo-details',
        extra: true,
      },
    });
    expect(r.spec.labels).toEqual({ app: 'details', version: 'v1-vm' });
    expect(r.spec.ports).toEqual({ http: 9080 });
    expect(r.spec).toHaveProperty('extra', true);
  });

  it('refuses a port that is not a number, naming the field', () => {
    const r = workloadEntrySchema.safeParse({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm' },
      spec: { ports: { http: 'x' } },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['spec', 'ports', 'http']);
  });
});
