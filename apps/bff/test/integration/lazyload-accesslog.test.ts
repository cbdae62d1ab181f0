/**
 * Lazyload learning from Envoy's access-log service, end to end in a real BFF: a sidecar streams its
 * access log over real gRPC (a client built from Envoy's als.proto), and the fenced workload's Sidecar,
 * as the store holds it, comes to include the service it called.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessLogClientConstructor } from '../../src/accesslog/accesslog-server';
import { defaultSettings } from '../../src/framework/registry';
import { MODULES } from '../../src/modules';
import { startDemoBff, type DemoBff } from '../support/demo-bff';

type AlsClient = grpc.Client & {
  StreamAccessLogs: (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>;
};

const egressHosts = (sidecar: unknown): string[] =>
  ((sidecar as { spec?: { egress?: { hosts?: string[] }[] } } | null)?.spec?.egress ?? []).flatMap(
    (e) => e.hosts ?? [],
  );

describe('lazyload with metricSourceType: accesslog, in a real BFF', () => {
  let demo: DemoBff;
  let client: AlsClient;

  beforeAll(async () => {
    const lazyload = MODULES.find((m) => m.name === 'lazyload')!;
    const defaults = defaultSettings(lazyload.settings);
    demo = await startDemoBff({
      listen: false,
      accessLog: true,
      governor: {
        modules: MODULES,
        simulate: false,
        // No periodic pass, and a metric tick too slow to matter: only the first-call hook re-plans the fence.
        metrics: { tickMs: 0, metricTickMs: 600_000, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
        moduleSettings: {
          lazyload: { ...defaults, general: { ...defaults.general, metricSourceType: 'accesslog' } },
        },
      },
      prepare: async (store) => {
        await store.create({
          apiVersion: 'microservice.slime.io/v1alpha1',
          kind: 'ServiceFence',
          metadata: { name: 'productpage', namespace: 'default' },
          spec: { enable: true },
        });
      },
    });
    const port = await demo.bff.listenAccessLog('127.0.0.1', 0);
    const Client = accessLogClientConstructor();
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AlsClient;
  });

  afterAll(async () => {
    client?.close();
    await demo?.close();
  });

  it("adds to the caller's Sidecar the service its sidecar reports calling", async () => {
    await vi.waitFor(async () => {
      const sidecar = await demo.store.get('Sidecar', 'default', 'productpage');
      expect(sidecar).not.toBeNull();
    });
    const before = egressHosts(await demo.store.get('Sidecar', 'default', 'productpage'));
    expect(before).not.toContain('*/ratings.default.svc.cluster.local');

    const done = new Promise<void>((resolve, reject) => {
      const stream = client.StreamAccessLogs((e) => (e ? reject(e) : resolve()));
      stream.write({
        identifier: {
          node: {
            id: 'sidecar~10.244.0.11~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local',
            metadata: {
              fields: {
                NAMESPACE: { stringValue: 'default' },
                LABELS: { structValue: { fields: { app: { stringValue: 'productpage' } } } },
              },
            },
          },
          log_name: 'envoy_accesslog',
        },
        http_logs: {
          log_entry: [
            {
              common_properties: { upstream_cluster: 'outbound|9080||ratings.default.svc.cluster.local' },
              request: { authority: 'ratings:9080', path: '/ratings/0', request_method: 'GET' },
              response: { response_code: { value: 200 } },
            },
          ],
        },
      });
      stream.end();
    });
    await done;

    await vi.waitFor(
      async () => {
        const sidecar = await demo.store.get('Sidecar', 'default', 'productpage');
        expect(egressHosts(sidecar)).toContain('*/ratings.default.svc.cluster.local');
      },
      { timeout: 10_000 },
    );
    const fence = await demo.store.get('ServiceFence', 'default', 'productpage');
    expect((fence?.status as { metricStatus?: Record<string, string> }).metricStatus).toMatchObject({
      '{destination_service="ratings.default.svc.cluster.local"}': '1',
    });
  });
});
