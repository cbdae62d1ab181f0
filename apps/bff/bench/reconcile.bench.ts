/**
 * `pnpm -s bench reconcile`: 1,000 SmartLimiters across 100 namespaces on a real kube-apiserver, reconciled
 * from a cold start: time until every one is Ready, the API writes it took, and the peak RSS of the
 * process running the control plane. BENCH_QUICK=1 runs 100 (10 namespaces).
 */
import { limiterModule } from '../src/modules/limiter/module';
import { KubernetesStore } from '../src/cluster/kubernetes-store';
import { ControlPlane } from '../src/framework/control-plane';
import { startKubeTestServer } from '../test/support/kube-test-server';
import { countingStore as counting } from '../test/support/counting-store';
import { isReady, populateLimiters } from './support';

const quick = process.env.BENCH_QUICK === '1';
const NAMESPACES = quick ? 10 : 100;
const PER_NAMESPACE = 10;
const TOTAL = NAMESPACES * PER_NAMESPACE;

const readyCount = (plane: ControlPlane): number =>
  plane.snapshot.list('SmartLimiter').filter(isReady).length;

async function main(): Promise<void> {
  const server = await startKubeTestServer();
  try {
    const setup = KubernetesStore.fromKubeConfig(server.kubeConfig);
    await populateLimiters(
      setup,
      Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`),
      PER_NAMESPACE,
    );
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
