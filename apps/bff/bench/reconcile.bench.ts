/**
 * `pnpm -s bench reconcile`: 1,000 SmartLimiters across 100 namespaces on a real kube-apiserver, reconciled
 * from a cold start: time until every one is Ready, the API writes it took, and the peak RSS of the
 * process running the control plane. BENCH_QUICK=1 runs 100 (10 namespaces).
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { limiterModule } from '../src/modules/limiter/module';
import { KubernetesStore } from '../src/cluster/kubernetes-store';
import { ControlPlane } from '../src/framework/control-plane';
import { startKubeTestServer } from '../test/support/kube-test-server';
import { countingStore as counting } from '../test/support/counting-store';

const quick = process.env.BENCH_QUICK === '1';
const NAMESPACES = quick ? 10 : 100;
const PER_NAMESPACE = 10;
const TOTAL = NAMESPACES * PER_NAMESPACE;

/** Runs tasks with at most `limit` in flight. */
async function pool<T>(
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

const readyCount = (plane: ControlPlane): number =>
  plane.snapshot
    .list('SmartLimiter')
    .filter((o) =>
      ((o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
        (c) => c.type === 'Ready' && c.status === 'True',
      ),
    ).length;

async function main(): Promise<void> {
  const server = await startKubeTestServer();
  try {
    const setup = KubernetesStore.fromKubeConfig(server.kubeConfig);
    const core = server.kubeConfig.makeApiClient(CoreV1Api);
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
    await pool(namespaces, 8, (name) => core.createNamespace({ body: { metadata: { name } } }));
    const work = namespaces.flatMap((ns) =>
      Array.from({ length: PER_NAMESPACE }, (_, i) => ({ ns, name: `svc-${i}` })),
    );
    await pool(work, 16, async ({ ns, name }) => {
      await setup.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        // Headless: the test server's service IP range (a /24) holds fewer than 1,000 addresses.
        spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
      });
      const pod = await setup.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-0`, namespace: ns, labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'example/app:1' }],
          schedulingGates: [{ name: 'governor.io/bench' }],
        },
      });
      await setup.updateStatus({ ...pod, status: { phase: 'Running' } });
      await setup.create({
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
    await setup.close();

    // Cold start: a fresh control plane lists everything and reconciles every SmartLimiter.
    const { store, writes } = counting(KubernetesStore.fromKubeConfig(server.kubeConfig));
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const started = performance.now();
    const plane = new ControlPlane({
      store,
      modules: [limiterModule()],
      tickMs: 0,
      leaseNamespace: 'default',
      identity: 'bench',
    });
    await plane.start();
    while (readyCount(plane) < TOTAL) {
      if (performance.now() - started > 600_000)
        throw new Error(`only ${readyCount(plane)} of ${TOTAL} Ready after 10 minutes`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    await plane.idle();
    clearInterval(sampler);
    const efs = (await store.list('EnvoyFilter')).items.length;
    console.log(`reconcile_${TOTAL}_ready_s: ${seconds.toFixed(2)}`);
    console.log(`reconcile_${TOTAL}_api_writes: ${writes()}`);
    console.log(`reconcile_${TOTAL}_objects_changed: ${efs + TOTAL}`);
    console.log(`reconcile_${TOTAL}_peak_rss_mb: ${(peakRss / 1024 / 1024).toFixed(1)}`);
    await plane.stop();
    await store.close();
  } finally {
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
