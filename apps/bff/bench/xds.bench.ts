/**
 * `pnpm -s bench xds`: how fast a MetaRouter change reaches the MetaProtocol proxies. Governor runs the
 * metarouter module over the embedded store with 1,000 Thrift services, each with its MetaRouter, and
 * serves their route configurations; 500 SotW ADS streams (from a child process, over 10 gRPC
 * connections, as real gRPC clients) each subscribe to 2 of them and ACK every response. Each round edits
 * one MetaRouter in the store and times from the edit until every stream subscribed to its route
 * configuration has ACKed the new version (informer, plan of the routes, push, ACK). Prints
 * `xds_push_p99_ms` and `xds_push_p50_ms` over 20 rounds, and `xds_rss_mb`, the server process's resident
 * memory with every stream connected (clients excluded; Governor's caches included).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { EmbeddedStore } from '../src/cluster/embedded-store';
import type { KubeObject } from '../src/cluster/store';
import { ROUTE_TYPE_URL } from '../src/envoy/metaprotocol-route';
import { Governor } from '../src/governor';
import { MODULES } from '../src/modules';
import { discoveryClientConstructors, type DiscoveryResponse } from '../src/xds/discovery-service';
import { RouteServer } from '../src/xds/route-server';

const CONFIGS = 1000;
const STREAMS = 500;
const CONNECTIONS = 10;
const ROUNDS = 20;

const hostOf = (i: number) => `svc-${i}.bench.svc.cluster.local`;
const nameOf = (i: number) => `${hostOf(i)}_20880`;
/** Stream s subscribes to two configurations spread over the whole set. */
const subscribedBy = (s: number) => [nameOf((2 * s) % CONFIGS), nameOf((2 * s + 501) % CONFIGS)];

const service = (i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `svc-${i}`, namespace: 'bench' },
  spec: {
    clusterIP: `10.96.${i >> 8}.${i & 255}`,
    selector: { app: `svc-${i}` },
    ports: [{ name: 'tcp-metaprotocol-thrift-rpc', port: 20880 }],
  },
});

/** A canary MetaRouter: one method (changing with `generation`) split 90/10, the rest to v1. */
function metaRouter(i: number, generation: number): KubeObject {
  const host = hostOf(i);
  return {
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'MetaRouter',
    metadata: { name: `svc-${i}`, namespace: 'bench' },
    spec: {
      hosts: [host],
      routes: [
        {
          name: 'canary',
          match: { attributes: { method: { exact: `call${generation}` } } },
          route: [
            { destination: { host, subset: 'v1' }, weight: 90 },
            { destination: { host, subset: 'v2' }, weight: 10 },
          ],
          requestMutation: [{ key: 'x-generation', value: String(generation) }],
        },
        { name: 'default', route: [{ destination: { host, subset: 'v1' } }] },
      ],
    },
  };
}

/** The child: 500 streams that subscribe and ACK every response. */
function runClients(port: number): void {
  const Client = discoveryClientConstructors().ads;
  const clients = Array.from(
    { length: CONNECTIONS },
    // Distinct channel options keep grpc-js from sharing one connection between the clients.
    (_, i) => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'bench.connection': i }),
  );
  for (let s = 0; s < STREAMS; s++) {
    const c = clients[s % CONNECTIONS] as unknown as {
      StreamAggregatedResources: () => grpc.ClientDuplexStream<object, DiscoveryResponse>;
    };
    const call = c.StreamAggregatedResources();
    const names = subscribedBy(s);
    call.on('data', (r: DiscoveryResponse) =>
      call.write({
        type_url: ROUTE_TYPE_URL,
        resource_names: names,
        version_info: r.version_info,
        response_nonce: r.nonce,
      }),
    );
    call.on('error', () => undefined);
    call.write({
      node: { id: `sidecar~10.0.0.${s}~bench-${s}.bench~bench.svc.cluster.local`, cluster: 'bench' },
      type_url: ROUTE_TYPE_URL,
      resource_names: names,
    });
  }
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const store = await EmbeddedStore.open({});
  const governor = new Governor({
    modules: MODULES.filter((m) => m.name === 'metarouter'),
    store,
    simulate: false,
    metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
  });
  await governor.start();
  await store.create({
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'ApplicationProtocol',
    metadata: { name: 'thrift' },
    spec: { protocol: 'thrift', codec: 'aeraki.meta_protocol.codec.thrift' },
  });
  for (let i = 0; i < CONFIGS; i++) {
    await store.create(service(i));
    await store.create(metaRouter(i, 0));
  }
  const server = new RouteServer();
  const stopServing = governor.serveRoutes(server);
  const port = await server.listen('127.0.0.1', 0);
  const routed = performance.now();
  while (server.routes().filter((r) => r.name.endsWith('_20880')).length < CONFIGS) {
    if (performance.now() - routed > 60_000) throw new Error('the route configurations did not all appear');
    await new Promise((r) => setTimeout(r, 20));
  }
  await governor.controlPlane.idle();

  // Per round: the streams still to ACK a version other than the one they held.
  let waitingFor: Map<number, string | null> | undefined;
  let done: (() => void) | undefined;
  let acks = 0;
  server.onStatus((e) => {
    if (e.kind !== 'ack') return;
    acks++;
    if (!waitingFor) return;
    for (const r of e.resources) {
      if (!waitingFor.has(e.streamId) || r.name !== waitingName) continue;
      if (r.version !== waitingFor.get(e.streamId)) waitingFor.delete(e.streamId);
    }
    if (waitingFor.size === 0) done?.();
  });
  let waitingName = '';

  const child = fork(fileURLToPath(import.meta.url), ['clients', String(port)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const started = performance.now();
  while (acks < STREAMS) {
    if (performance.now() - started > 30_000) throw new Error(`only ${acks} of ${STREAMS} streams ACKed`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const connectMs = performance.now() - started;

  const times: number[] = [];
  let affected = 0;
  const generations = new Array<number>(CONFIGS).fill(0);
  for (let round = 0; round < ROUNDS; round++) {
    // A configuration some stream subscribes to: stream s holds 2s and 2s+501 (mod 1,000).
    const i = (round * 74) % CONFIGS;
    waitingName = nameOf(i);
    waitingFor = new Map(
      server
        .subscriptions()
        .filter((s) => s.resourceName === waitingName)
        .map((s) => [s.streamId, s.versionAcked]),
    );
    affected += waitingFor.size;
    const all = new Promise<void>((resolve) => (done = resolve));
    const current = (await store.get('MetaRouter', 'bench', `svc-${i}`))!;
    const t0 = performance.now();
    await store.update({ ...current, spec: metaRouter(i, ++generations[i]!).spec });
    if (waitingFor.size > 0) await all;
    times.push(performance.now() - t0);
    waitingFor = undefined;
  }
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
  console.log(
    `# ${CONFIGS} services and MetaRouters, ${STREAMS} streams x 2, one MetaRouter edited per round, ${(affected / ROUNDS).toFixed(1)} subscriptions affected per round; all connected and ACKed in ${connectMs.toFixed(0)} ms`,
  );
  console.log(`xds_push_p50_ms: ${pct(50).toFixed(1)}`);
  console.log(`xds_push_p99_ms: ${pct(99).toFixed(1)}`);
  console.log(`xds_rss_mb: ${rssMb.toFixed(0)}`);
  child.disconnect();
  child.kill();
  stopServing();
  await server.close();
  await governor.stop();
  await store.close();
}

if (process.argv[2] === 'clients') runClients(Number(process.argv[3]));
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
