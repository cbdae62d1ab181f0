/**
 * `pnpm -s bench lazyload`: a mesh of 1,000 services in 50 namespaces on a real kube-apiserver, each
 * calling 5 others and each fenced by a ServiceFence, reconciled by the lazyload module from a cold start
 * with the product's timings. Prints the egress hosts per Sidecar (against the whole mesh without fences),
 * the time until every Sidecar is written, and how long a first call to a new service takes to reach the
 * caller's Sidecar in the API server. BENCH_QUICK=1 runs 100 services in 5 namespaces.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { KubernetesStore } from '../src/cluster/kubernetes-store';
import type { ClusterStore, KubeObject } from '../src/cluster/store';
import { ControlPlane } from '../src/framework/control-plane';
import { defaultSettings, defineModules } from '../src/framework/registry';
import { lazyload } from '../src/modules/lazyload';
import { ObservedCalls } from '../src/sources/observed-calls';
import { countingStore } from '../test/support/counting-store';
import { startKubeTestServer } from '../test/support/kube-test-server';
import { pool } from './support';

const quick = process.env.BENCH_QUICK === '1';
const NAMESPACES = quick ? 5 : 50;
const SERVICES = quick ? 100 : 1000;
const CALLS_PER_SERVICE = 5;
const NEW_DEPENDENCY_SAMPLES = 5;
// The product's defaults (GOVERNOR_TICK_MS, GOVERNOR_METRIC_TICK_MS).
const TICK_MS = 5000;
const METRIC_TICK_MS = 1000;

defineModules([lazyload]);

const namespaceOf = (i: number): string => `mesh-${i % NAMESPACES}`;
const nameOf = (i: number): string => `svc-${i}`;
const hostOf = (i: number): string => `${nameOf(i)}.${namespaceOf(i)}.svc.cluster.local`;

/** Each service's callees: 5 others, the same on every run (a linear congruential sequence). */
function callees(i: number): number[] {
  const out: number[] = [];
  let x = (i * 2654435761 + 12345) >>> 0;
  while (out.length < CALLS_PER_SERVICE) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % SERVICES;
    if (j !== i && !out.includes(j)) out.push(j);
  }
  return out;
}

const egressHosts = (sidecar: KubeObject | null | undefined): string[] =>
  ((sidecar?.spec as { egress?: { hosts?: string[] }[] } | undefined)?.egress ?? []).flatMap(
    (e) => e.hosts ?? [],
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createMesh(store: ClusterStore, core: CoreV1Api): Promise<void> {
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `mesh-${i}`);
  await pool(namespaces, 8, (name) => core.createNamespace({ body: { metadata: { name } } }));
  await pool(
    Array.from({ length: SERVICES }, (_, i) => i),
    16,
    async (i) => {
      const [namespace, name] = [namespaceOf(i), nameOf(i)];
      await store.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace, labels: { app: name } },
        // Headless: the test server's service IP range (a /24) holds fewer than 1,000 addresses.
        spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
      });
      const pod = await store.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-0`, namespace, labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'example/app:1' }],
          schedulingGates: [{ name: 'governor.io/bench' }],
        },
      });
      await store.updateStatus({ ...pod, status: { phase: 'Running' } });
      await store.create({
        apiVersion: 'microservice.slime.io/v1alpha1',
        kind: 'ServiceFence',
        metadata: { name, namespace },
        spec: { enable: true },
      });
    },
  );
}

const median = (sorted: readonly number[]): number => sorted[Math.floor(sorted.length / 2)]!;

/**
 * A first call to a service the caller never called, recorded as a call source would: seconds until the
 * caller's Sidecar in the API server lists it, sorted, one per sample. `offset` picks other pairs.
 */
async function newDependencySeconds(
  store: ClusterStore,
  calls: ObservedCalls,
  offset: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let k = offset; k < offset + NEW_DEPENDENCY_SAMPLES; k++) {
    // Off the metric tick's phase, as calls come whenever they come.
    await sleep(700 + 293 * (k - offset));
    const caller = (k * 97 + 3) % SERVICES;
    const known = new Set(callees(caller));
    let callee = (caller + SERVICES / 2 + k) % SERVICES;
    while (known.has(callee) || callee === caller) callee = (callee + 1) % SERVICES;
    const wanted = `*/${hostOf(callee)}`;
    const t0 = performance.now();
    calls.record(
      'accesslog',
      { namespace: namespaceOf(caller), app: nameOf(caller) },
      hostOf(callee),
      1,
      Date.now(),
    );
    for (;;) {
      const sidecar = await store.get('Sidecar', namespaceOf(caller), nameOf(caller));
      if (egressHosts(sidecar).includes(wanted)) break;
      if (performance.now() - t0 > 60_000) throw new Error(`${wanted} not in ${nameOf(caller)}'s Sidecar`);
      await sleep(5);
    }
    samples.push((performance.now() - t0) / 1000);
  }
  return samples.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const server = await startKubeTestServer();
  try {
    const store = KubernetesStore.fromKubeConfig(server.kubeConfig);
    await createMesh(store, server.kubeConfig.makeApiClient(CoreV1Api));

    // What the call sources (Prometheus, the access-log service) would have recorded.
    const calls = new ObservedCalls();
    const now = Date.now();
    for (let i = 0; i < SERVICES; i++)
      for (const j of callees(i))
        calls.record('accesslog', { namespace: namespaceOf(i), app: nameOf(i) }, hostOf(j), 10, now);

    const module = lazyload.create({
      settings: defaultSettings(lazyload.settings),
      metrics: { metricsFor: () => ({ values: {}, health: { available: true } }) },
      options: {},
      observedCalls: calls,
    });
    const { store: counted, writes } = countingStore(store);
    const started = performance.now();
    const plane = new ControlPlane({
      store: counted,
      modules: [module],
      tickMs: TICK_MS,
      metricTickMs: METRIC_TICK_MS,
      leaseNamespace: 'default',
      identity: 'bench',
    });
    await plane.start();
    const sidecars = plane.informers.get('Sidecar')!;
    // The informer holds what the API server's watch reported: a Sidecar there has been written.
    while (sidecars.list().length < SERVICES) {
      if (performance.now() - started > 600_000)
        throw new Error(`only ${sidecars.list().length} of ${SERVICES} Sidecars after 10 minutes`);
      await sleep(20);
    }
    const fenceSeconds = (performance.now() - started) / 1000;
    // The statuses follow their Sidecars; the writes of the whole cold start, the Lease's included.
    await plane.idle();
    const fenceWrites = writes();

    const written = (await store.list('Sidecar')).items;
    const hosts = written.map((s) => egressHosts(s).length);
    const average = hosts.reduce((a, b) => a + b, 0) / hosts.length;
    const complete = written.every((s) => {
      const i = Number(s.metadata.name.slice('svc-'.length));
      const have = new Set(egressHosts(s));
      return callees(i).every((j) => have.has(`*/${hostOf(j)}`));
    });
    if (!complete) throw new Error('a Sidecar lacks a service its workload calls');

    // What bounds the reaction without the hook: the metric tick's in-memory check of every fence, and
    // the periodic pass (every fence re-planned, nothing to write) that a changed fence may queue behind.
    const controller = plane.controller('lazyload');
    const checkStarted = performance.now();
    controller.enqueueChanged();
    const checkMs = performance.now() - checkStarted;
    const passStarted = performance.now();
    controller.enqueueAll();
    await plane.idle();
    const passSeconds = (performance.now() - passStarted) / 1000;

    const tickOnly = await newDependencySeconds(store, calls, 0);
    // With ObservedCalls' onNewCall hook wired to the controller's queue, as the product (governor.ts) does.
    const queue = controller.queue;
    const unsubscribe = calls.onNewCall((c) => queue.add(`${c.source.namespace}/${c.source.app}`));
    const onNewCall = await newDependencySeconds(store, calls, NEW_DEPENDENCY_SAMPLES);
    unsubscribe();

    console.log(`lazyload_services: ${SERVICES}`);
    console.log(`lazyload_egress_hosts_avg: ${average.toFixed(2)}`);
    console.log(`lazyload_egress_hosts_max: ${Math.max(...hosts)}`);
    console.log(`lazyload_unfenced_hosts: ${SERVICES}`);
    console.log(`lazyload_fence_${SERVICES}_s: ${fenceSeconds.toFixed(2)}`);
    console.log(`lazyload_fence_${SERVICES}_api_writes: ${fenceWrites}`);
    console.log(`lazyload_metric_check_${SERVICES}_ms: ${checkMs.toFixed(1)}`);
    console.log(`lazyload_pass_${SERVICES}_s: ${passSeconds.toFixed(2)}`);
    console.log(`lazyload_new_dependency_s: ${median(onNewCall).toFixed(2)}`);
    console.log(`lazyload_new_dependency_samples_s: ${onNewCall.map((s) => s.toFixed(2)).join(' ')}`);
    console.log(`lazyload_new_dependency_tick_only_s: ${median(tickOnly).toFixed(2)}`);
    console.log(
      `lazyload_new_dependency_tick_only_samples_s: ${tickOnly.map((s) => s.toFixed(2)).join(' ')}`,
    );
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
