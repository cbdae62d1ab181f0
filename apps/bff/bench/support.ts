/** What the benchmarks share: a bounded pool of tasks, and a cluster populated with SmartLimiters. */
import type { ClusterStore, KubeObject } from '../src/cluster/store';

/** Runs tasks with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}

export const isReady = (o: KubeObject): boolean =>
  ((o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/**
 * In each namespace (created here), `perNamespace` Services `svc-<i>`, each with a Running Pod and a
 * SmartLimiter of 100 requests per second shared by its pods.
 */
export async function populateLimiters(
  store: ClusterStore,
  namespaces: readonly string[],
  perNamespace: number,
): Promise<void> {
  await pool(namespaces, 8, (name) =>
    store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  );
  const work = namespaces.flatMap((ns) =>
    Array.from({ length: perNamespace }, (_, i) => ({ ns, name: `svc-${i}` })),
  );
  await pool(work, 16, async ({ ns, name }) => {
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      // Headless: the test server's service IP range (a /24) holds fewer addresses than services here.
      spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
    });
    const pod = await store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-0`, namespace: ns, labels: { app: name } },
      spec: {
        containers: [{ name: 'app', image: 'example/app:1' }],
        schedulingGates: [{ name: 'governor.io/bench' }],
      },
    });
    await store.updateStatus({ ...pod, status: { phase: 'Running' } });
    await store.create({
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: { name, namespace: ns },
      spec: {
        sets: {
          _base: {
            descriptor: [
              {
                action: { fill_interval: { seconds: 1 }, quota: '100', strategy: 'average' },
                condition: 'true',
                target: { port: 9080 },
              },
            ],
          },
        },
      },
    });
  });
}
