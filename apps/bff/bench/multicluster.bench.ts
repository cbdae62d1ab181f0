/**
 * `pnpm -s bench multicluster`: three real kube-apiservers with 300 SmartLimiters each (10 in each of 30
 * namespaces, each with its Service and a Running Pod), and Governor started cold over all three as the
 * product starts it: a ClusterRegistry over one kubeconfig naming the three, a Fleet making a control
 * plane per cluster (the policy fan-out on, as by default). Prints the time from opening the registry until
 * every SmartLimiter is Ready in every cluster, and the peak RSS of the process running the control planes.
 * That process is a child of its own, so the objects the setup created are not in its memory; starting the
 * servers and creating the objects is not timed. BENCH_QUICK=1 runs 30 per cluster (3 namespaces).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubernetesStore } from '../src/cluster/kubernetes-store';
import { ClusterRegistry } from '../src/cluster/registry';
import type { ClusterStore } from '../src/cluster/store';
import { Fleet } from '../src/fleet/fleet';
import { registryMembers } from '../src/fleet/members';
import { Governor } from '../src/governor';
import { MODULES } from '../src/modules';
import { startKubeTestServer, type KubeTestServer } from '../test/support/kube-test-server';
import { multiClusterKubeconfig } from '../test/support/multi-cluster';
import { isReady, populateLimiters } from './support';

const quick = process.env.BENCH_QUICK === '1';
const CLUSTERS = ['east', 'west', 'north'];
const NAMESPACES = quick ? 3 : 30;
const PER_NAMESPACE = 10;
const PER_CLUSTER = NAMESPACES * PER_NAMESPACE;
/** Set in the child that runs the control planes: the kubeconfig of the three servers. */
const FLEET_KUBECONFIG = 'GOVERNOR_BENCH_FLEET_KUBECONFIG';
const TIMEOUT_MS = 600_000;

/** The namespaces, Services, Running Pods and SmartLimiters of one cluster, as reconcile.bench.ts makes them. */
async function populate(server: KubeTestServer): Promise<void> {
  const store = KubernetesStore.fromKubeConfig(server.kubeConfig);
  try {
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'governor-system' } });
    await populateLimiters(
      store,
      Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`),
      PER_NAMESPACE,
    );
  } finally {
    await store.close();
  }
}

/** A store that counts the calls made through it, by method. */
function counted(store: ClusterStore, calls: Map<string, number>): ClusterStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        // Failed calls (conflicts, say) counted apart: each is retried, and the retry is counted too.
        if (result instanceof Promise)
          result.catch(() => calls.set(`${property}_failed`, (calls.get(`${property}_failed`) ?? 0) + 1));
        return result;
      };
    },
  });
}

/** The kernel's high-water mark of this process's resident set (Linux), else undefined. */
function vmHwmBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface FleetRun {
  readonly readySeconds: number;
  /** When each cluster had all of its SmartLimiters Ready, in seconds from the start. */
  readonly clusterReadySeconds: Record<string, number>;
  readonly peakRssBytes: number;
  readonly calls: Record<string, number>;
}

/** The child: the product's multi-cluster start over the kubeconfig, timed to every SmartLimiter Ready. */
async function runFleet(kubeconfigPath: string): Promise<FleetRun> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const calls = new Map<string, number>();
  const started = performance.now();
  const registry = await ClusterRegistry.open({
    kubeconfigPath,
    storeFor: (kc) => counted(KubernetesStore.fromKubeConfig(kc), calls),
  });
  const members = registryMembers(registry);
  const fleet = new Fleet({
    members,
    create: (member) =>
      new Governor({
        modules: MODULES.filter((d) => d.name === 'limiter'),
        store: member.store,
        simulate: false,
        // The product's defaults (server/config.ts), without Prometheus.
        metrics: { tickMs: 5000, metricTickMs: 1000, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      }),
  });
  const clusterReadySeconds: Record<string, number> = {};
  try {
    await fleet.start();
    for (;;) {
      const elapsed = (performance.now() - started) / 1000;
      const ready = fleet.list().map((c) => ({
        name: c.name,
        ready: c.plane.controlPlane.snapshot.list('SmartLimiter').filter(isReady).length,
      }));
      for (const r of ready)
        if (r.ready >= PER_CLUSTER && clusterReadySeconds[r.name] === undefined)
          clusterReadySeconds[r.name] = elapsed;
      if (ready.length === CLUSTERS.length && ready.every((r) => r.ready >= PER_CLUSTER)) break;
      if (elapsed * 1000 > TIMEOUT_MS)
        throw new Error(
          `not every SmartLimiter Ready after ${TIMEOUT_MS / 1000} s: ${JSON.stringify(ready)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    const readySeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss, vmHwmBytes() ?? 0);
    return { readySeconds, clusterReadySeconds, peakRssBytes: peakRss, calls: Object.fromEntries(calls) };
  } finally {
    clearInterval(sampler);
    await fleet.stop();
    await members.close();
  }
}

/** Runs this file again as the child that runs the control planes; resolves with what it measured. */
function runChild(kubeconfigPath: string): Promise<FleetRun> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self], {
      env: { ...process.env, [FLEET_KUBECONFIG]: kubeconfigPath },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`the fleet process failed (${signal ?? code}): ${out}`));
      resolve(JSON.parse(last) as FleetRun);
    });
  });
}

async function main(): Promise<void> {
  const servers: KubeTestServer[] = [];
  let dir: string | undefined;
  try {
    servers.push(...(await Promise.all(CLUSTERS.map(() => startKubeTestServer()))));
    await Promise.all(servers.map(populate));
    dir = await mkdtemp(join(tmpdir(), 'governor-bench-multicluster-'));
    const kubeconfigPath = join(dir, 'config');
    await writeFile(
      kubeconfigPath,
      multiClusterKubeconfig(CLUSTERS.map((name, i) => ({ name, server: servers[i]! }))),
      { mode: 0o600 },
    );
    const run = await runChild(kubeconfigPath);
    const reads = (run.calls.list ?? 0) + (run.calls.get ?? 0);
    // Every write attempt, failed ones included.
    const writes = ['create', 'update', 'apply', 'updateStatus', 'delete'].reduce(
      (n, m) => n + (run.calls[m] ?? 0),
      0,
    );
    console.log(`multicluster_smartlimiters: ${PER_CLUSTER * CLUSTERS.length}`);
    console.log(`multicluster_ready_s: ${run.readySeconds.toFixed(2)}`);
    for (const name of CLUSTERS)
      console.log(`multicluster_ready_${name}_s: ${(run.clusterReadySeconds[name] ?? NaN).toFixed(2)}`);
    console.log(`multicluster_rss_mb: ${(run.peakRssBytes / 1024 / 1024).toFixed(1)}`);
    console.log(`multicluster_api_writes: ${writes}`);
    console.log(`multicluster_api_reads: ${reads}`);
    console.log(`multicluster_api_watches: ${run.calls.watch ?? 0}`);
    // Each method apart, to see where the calls go.
    for (const [method, n] of Object.entries(run.calls).sort(([a], [b]) => (a < b ? -1 : 1)))
      console.log(`multicluster_api_${method}: ${n}`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

const fleetKubeconfig = process.env[FLEET_KUBECONFIG];
(fleetKubeconfig !== undefined
  ? runFleet(fleetKubeconfig).then((run) => console.log(JSON.stringify(run)))
  : main()
).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
