/**
 * `pnpm -s bench rls`: ShouldRateLimit throughput and latency over gRPC on loopback. The service runs in
 * its own process (`governor rls`, and envoyproxy/ratelimit, built by scripts/bench-support/build-ratelimit.sh);
 * the load comes from a Go client (scripts/bench-support/rls-loadgen, built with the machine's Go) making
 * back-to-back calls from 1, 10 and 100 concurrent streams, so that the client's own overhead stays small
 * (without Go, a Node client in this process stands in and says so). Memory and Redis backends. Prints per
 * configuration `rls_<backend>_c<streams>_rps` and `_p50_ms` / `_p99_ms`, and the headline figures at 10
 * streams: `rls_memory_rps`, `rls_redis_rps`, `rls_redis_p99_ms`. Then latency at equal throughput: the fewest
 * streams at which Governor (Redis) sustains envoyproxy/ratelimit's 10-stream throughput, and its p99 there
 * (`rls_redis_matched_streams`, `_rps`, `_p99_ms`). Then the open-loop comparison: calls due at
 * the rate envoyproxy/ratelimit sustains at 10 streams, sent to both services on the same Redis
 * (`rls_redis_open_loop_p99_ms` against `envoy_ratelimit_redis_open_loop_p99_ms`). BENCH_QUICK=1 for a
 * short run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { freePort, RedisServer } from '@governor/limiter/testing';
import { rlsClientConstructor } from '../src/rls/rls-server';

const quick = process.env.BENCH_QUICK === '1';
const DURATION_MS = quick ? 1000 : 3000;
const STREAMS = [1, 10, 100];
const bffDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(bffDir, '../..');
const DESCRIPTOR = 'Service[productpage.default]-Id[bench]';

const dir = mkdtempSync(join(tmpdir(), 'governor-bench-rls-'));
const policy = fileURLToPath(new URL('../test/support/unlimited-global-policy.yaml', import.meta.url));

/** Starts `governor rls` and resolves with its port and the descriptor value it limits. */
async function startGovernor(
  redisUrl?: string,
): Promise<{ port: number; value: string; child: ChildProcess }> {
  const render = spawnSync(
    process.execPath,
    ['bin/governor.mjs', 'render', '-f', policy, '--rls-config', '-o', 'json'],
    {
      cwd: bffDir,
      encoding: 'utf8',
    },
  );
  const value = (JSON.parse(render.stdout) as { descriptors: { value: string }[] }).descriptors[0]!.value;
  const child = spawn(
    process.execPath,
    ['bin/governor.mjs', 'rls', '-f', policy, '--port', '0', ...(redisUrl ? ['--redis', redisUrl] : [])],
    { cwd: bffDir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`governor rls exited (${code}): ${out}`)));
  });
  return { port, value, child };
}

/** Starts envoyproxy/ratelimit when its binary has been built; null otherwise. */
async function startEnvoyRatelimit(redisPort: number): Promise<{ port: number; child: ChildProcess } | null> {
  const script = join(repoRoot, 'scripts/bench-support/build-ratelimit.sh');
  if (!existsSync(script)) return null;
  const built = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const binary = built.stdout.trim().split('\n').at(-1) ?? '';
  if (built.status !== 0 || !existsSync(binary)) return null;
  const runtime = join(dir, 'runtime');
  mkdirSync(join(runtime, 'ratelimit/config'), { recursive: true });
  writeFileSync(
    join(runtime, 'ratelimit/config/config.yaml'),
    `domain: governor\ndescriptors:\n  - key: generic_key\n    value: "${DESCRIPTOR}"\n    rate_limit: { unit: second, requests_per_unit: 100000000 }\n`,
  );
  const [port, http, debug] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      USE_STATSD: 'false',
      DISABLE_STATS: 'true',
      DEBUG_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      REDIS_SOCKET_TYPE: 'tcp',
      REDIS_URL: `127.0.0.1:${redisPort}`,
      RUNTIME_ROOT: runtime,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      RUNTIME_WATCH_ROOT: 'false',
      RUNTIME_IGNOREDOTFILES: 'true',
      HOST: '127.0.0.1',
      GRPC_HOST: '127.0.0.1',
      PORT: String(http),
      GRPC_PORT: String(port),
      DEBUG_PORT: String(debug),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { port, child };
}

type Call = (req: unknown, cb: (e: grpc.ServiceError | null, r: { overall_code: string }) => void) => void;

/** The Go load generator's binary, built on first use; null without Go. */
function loadgenBinary(): string | null {
  const built = spawnSync('bash', [join(repoRoot, 'scripts/bench-support/build-loadgen.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = built.stdout.trim().split('\n').at(-1) ?? '';
  return built.status === 0 && existsSync(path) ? path : null;
}
const loadgen = loadgenBinary();
if (!loadgen)
  console.log('# no Go: the load comes from a Node client in this process, which caps the figures');

/**
 * `streams` callers of back-to-back calls for the duration (or, with `rate`, calls due at that rate with
 * at most `streams` in flight, a call late for want of a free stream counted from when it was due): calls
 * per second and latency percentiles.
 */
async function load(
  port: number,
  value: string,
  streams: number,
  rate?: number,
): Promise<{ rps: number; p50: number; p99: number }> {
  if (!loadgen) {
    if (rate !== undefined) throw new Error('the open-loop load needs the Go load generator');
    return loadFromNode(port, value, streams);
  }
  const r = spawnSync(
    loadgen,
    [
      `-addr=127.0.0.1:${port}`,
      `-value=${value}`,
      `-streams=${streams}`,
      '-conns=4',
      `-duration=${DURATION_MS}ms`,
      ...(rate !== undefined ? [`-rate=${Math.round(rate)}`] : []),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`rls-loadgen failed: ${r.stderr}`);
  const [rps, p50, p99] = r.stdout.trim().split(/\s+/).map(Number);
  return { rps: rps!, p50: p50!, p99: p99! };
}

async function loadFromNode(
  port: number,
  value: string,
  streams: number,
): Promise<{ rps: number; p50: number; p99: number }> {
  const Client = rlsClientConstructor();
  // A few channels, as several Envoy sidecars would open.
  const clients = Array.from(
    { length: Math.min(streams, 4) },
    (_, i) =>
      new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.channel_id': i,
      }) as unknown as grpc.Client & { ShouldRateLimit: Call },
  );
  const request = { domain: 'governor', descriptors: [{ entries: [{ key: 'generic_key', value }] }] };
  const one = (c: (typeof clients)[number]) =>
    new Promise<void>((resolve, reject) =>
      c.ShouldRateLimit(request, (e, r) =>
        e ? reject(e) : r.overall_code === 'OK' ? resolve() : reject(new Error(r.overall_code)),
      ),
    );
  // Warm up (connections, JIT, scripts loaded in Redis).
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < 200; i++) await one(c);
    }),
  );
  const latencies: number[] = [];
  const end = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const c = clients[i % clients.length]!;
      while (performance.now() < end) {
        const t = performance.now();
        await one(c);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99) };
}

const print = (name: string, v: number, digits = 0) => console.log(`${name}: ${v.toFixed(digits)}`);
const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

/** Waits until a freshly started service answers. */
async function untilServing(port: number, value: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await load(port, value, 1);
      return;
    } catch (e) {
      if (i === 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** In-flight bound of the open-loop runs: enough that the rate, not the streams, sets the pace. */
const OPEN_LOOP_STREAMS = 64;

const redis = await RedisServer.start();
try {
  // envoyproxy/ratelimit first: its throughput at 10 streams is the rate the open-loop runs use.
  const envoy = await startEnvoyRatelimit(redis.port);
  let envoyRps: number | null = null;
  if (envoy) {
    try {
      await untilServing(envoy.port, DESCRIPTOR);
      const r = await load(envoy.port, DESCRIPTOR, 10);
      envoyRps = r.rps;
      print('envoy_ratelimit_redis_rps', r.rps);
      print('envoy_ratelimit_redis_p50_ms', r.p50, 2);
      print('envoy_ratelimit_redis_p99_ms', r.p99, 2);
      const open = await load(envoy.port, DESCRIPTOR, OPEN_LOOP_STREAMS, envoyRps);
      print('envoy_ratelimit_redis_open_loop_p50_ms', open.p50, 2);
      print('envoy_ratelimit_redis_open_loop_p99_ms', open.p99, 2);
    } finally {
      await stopChild(envoy.child);
    }
  } else console.log('# envoyproxy/ratelimit not built: scripts/bench-support/build-ratelimit.sh builds it');

  const headline: Record<string, number> = {};
  for (const backend of ['memory', 'redis'] as const) {
    const server = await startGovernor(backend === 'redis' ? `redis://127.0.0.1:${redis.port}` : undefined);
    try {
      await untilServing(server.port, server.value);
      const measured = new Map<number, Awaited<ReturnType<typeof load>>>();
      for (const streams of STREAMS) {
        const r = await load(server.port, server.value, streams);
        measured.set(streams, r);
        print(`rls_${backend}_c${streams}_rps`, r.rps);
        print(`rls_${backend}_c${streams}_p50_ms`, r.p50, 2);
        print(`rls_${backend}_c${streams}_p99_ms`, r.p99, 2);
        if (streams === 10) {
          headline[`rls_${backend}_rps`] = r.rps;
          if (backend === 'redis') headline['rls_redis_p99_ms'] = r.p99;
        }
      }
      if (backend === 'redis' && envoyRps !== null) {
        // Latency at equal throughput: the fewest streams at which Governor answers as many calls per
        // second as envoyproxy/ratelimit does at 10, and the p99 there.
        for (let streams = 1; streams <= 10; streams++) {
          const r = measured.get(streams) ?? (await load(server.port, server.value, streams));
          if (r.rps >= envoyRps || streams === 10) {
            headline['rls_redis_matched_streams'] = streams;
            headline['rls_redis_matched_rps'] = r.rps;
            headline['rls_redis_matched_p99_ms'] = r.p99;
            break;
          }
        }
      }
      if (backend === 'redis' && envoyRps !== null && loadgen) {
        // The same open-loop load envoyproxy/ratelimit was given: its own throughput, due at a fixed rate.
        const open = await load(server.port, server.value, OPEN_LOOP_STREAMS, envoyRps);
        headline['rls_redis_open_loop_p50_ms'] = open.p50;
        headline['rls_redis_open_loop_p99_ms'] = open.p99;
      }
    } finally {
      await stopChild(server.child);
    }
  }
  print('rls_memory_rps', headline['rls_memory_rps']!);
  print('rls_redis_rps', headline['rls_redis_rps']!);
  print('rls_redis_p99_ms', headline['rls_redis_p99_ms']!, 2);
  if (envoyRps !== null) {
    print('ratio_rls_redis_vs_envoy_ratelimit_rps', headline['rls_redis_rps']! / envoyRps, 2);
    print('rls_redis_matched_streams', headline['rls_redis_matched_streams']!);
    print('rls_redis_matched_rps', headline['rls_redis_matched_rps']!);
    print('rls_redis_matched_p99_ms', headline['rls_redis_matched_p99_ms']!, 2);
    if (headline['rls_redis_open_loop_p99_ms'] !== undefined) {
      print('rls_redis_open_loop_rps', envoyRps);
      print('rls_redis_open_loop_p50_ms', headline['rls_redis_open_loop_p50_ms']!, 2);
      print('rls_redis_open_loop_p99_ms', headline['rls_redis_open_loop_p99_ms']!, 2);
    }
  }
} finally {
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
}
