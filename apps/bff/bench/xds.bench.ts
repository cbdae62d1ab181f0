/**
 * `pnpm -s bench xds`: how fast a changed MetaProtocol route configuration reaches the proxies. The
 * route server holds 1,000 configurations; 500 SotW ADS streams (from a child process, over 10 gRPC
 * connections, as real gRPC clients) each subscribe to 2 of them and ACK every response. Each round
 * changes 1% of the configurations (10) with `setRoutes` and times until every stream subscribed to one
 * of them has ACKed the new version. Prints `xds_push_p99_ms` and `xds_push_p50_ms` over 20 rounds, and
 * `xds_rss_mb`, the server process's resident memory with every stream connected (clients excluded).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ROUTE_TYPE_URL, type MetaRouteConfiguration } from '../src/envoy/metaprotocol-route';
import { discoveryClientConstructors, type DiscoveryResponse } from '../src/xds/discovery-service';
import { RouteServer } from '../src/xds/route-server';

const CONFIGS = 1000;
const STREAMS = 500;
const CONNECTIONS = 10;
const ROUNDS = 20;
const CHANGED_PER_ROUND = CONFIGS / 100;

const nameOf = (i: number) => `svc-${i}.bench.svc.cluster.local_20880`;
/** Stream s subscribes to two configurations spread over the whole set. */
const subscribedBy = (s: number) => [nameOf((2 * s) % CONFIGS), nameOf((2 * s + 501) % CONFIGS)];

function config(i: number, generation: number): MetaRouteConfiguration {
  const host = `svc-${i}.bench.svc.cluster.local`;
  return {
    name: nameOf(i),
    routes: [
      {
        name: 'canary',
        match: { metadata: [{ name: 'method', exactMatch: `call${generation}` }] },
        route: {
          weightedClusters: {
            clusters: [
              { name: `outbound|20880|v1|${host}`, weight: 90 },
              { name: `outbound|20880|v2|${host}`, weight: 10 },
            ],
            totalWeight: 100,
          },
        },
        requestMutation: [{ key: 'x-generation', value: String(generation) }],
      },
      { name: 'default', route: { cluster: `outbound|20880||${host}` } },
    ],
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
  const server = new RouteServer();
  const generations = new Array<number>(CONFIGS).fill(0);
  server.setRoutes(generations.map((g, i) => config(i, g)));
  const port = await server.listen('127.0.0.1', 0);

  // Which streams hold which configuration, and the versions they have ACKed.
  let waitingFor: Map<string, string> | undefined;
  let done: (() => void) | undefined;
  const subscribers = new Map<string, number>();
  let acks = 0;
  server.onStatus((e) => {
    if (e.kind !== 'ack') return;
    acks++;
    if (!waitingFor) return;
    for (const r of e.resources) {
      const key = `${e.streamId}/${r.name}`;
      if (waitingFor.get(key) === r.version) waitingFor.delete(key);
    }
    if (waitingFor.size === 0) done?.();
  });

  const child = fork(fileURLToPath(import.meta.url), ['clients', String(port)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const started = performance.now();
  while (acks < STREAMS) {
    if (performance.now() - started > 30_000) throw new Error(`only ${acks} of ${STREAMS} streams ACKed`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const s of server.subscriptions())
    subscribers.set(s.resourceName, (subscribers.get(s.resourceName) ?? 0) + 1);
  const connectMs = performance.now() - started;

  const times: number[] = [];
  let affected = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const changed = new Set<number>();
    while (changed.size < CHANGED_PER_ROUND) changed.add((round * 37 + changed.size * 101) % CONFIGS);
    for (const i of changed) generations[i]!++;
    const changedNames = new Set([...changed].map(nameOf));
    const t0 = performance.now();
    const all = new Promise<void>((resolve) => (done = resolve));
    server.setRoutes(generations.map((g, i) => config(i, g)));
    const versions = new Map(server.routes().map((r) => [r.name, r.version]));
    waitingFor = new Map();
    for (const s of server.subscriptions())
      if (changedNames.has(s.resourceName))
        waitingFor.set(`${s.streamId}/${s.resourceName}`, versions.get(s.resourceName)!);
    // ACKs of this round may already have arrived before the wait was set up.
    for (const s of server.subscriptions())
      if (waitingFor.get(`${s.streamId}/${s.resourceName}`) === s.versionAcked)
        waitingFor.delete(`${s.streamId}/${s.resourceName}`);
    affected += waitingFor.size;
    if (waitingFor.size > 0) await all;
    times.push(performance.now() - t0);
    waitingFor = undefined;
  }
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
  console.log(
    `# ${CONFIGS} configurations, ${STREAMS} streams x 2, ${CHANGED_PER_ROUND} changed per round, ${(affected / ROUNDS).toFixed(1)} subscriptions affected per round; all connected and ACKed in ${connectMs.toFixed(0)} ms`,
  );
  console.log(`xds_push_p50_ms: ${pct(50).toFixed(1)}`);
  console.log(`xds_push_p99_ms: ${pct(99).toFixed(1)}`);
  console.log(`xds_rss_mb: ${rssMb.toFixed(0)}`);
  child.disconnect();
  child.kill();
  await server.close();
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
