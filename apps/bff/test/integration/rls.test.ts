/**
 * Governor's rate-limit service over real gRPC (a client built from Envoy's rls.proto) with a real
 * redis-server started here: Envoy's ShouldRateLimit semantics, replicas sharing one Redis, fail-open and
 * fail-closed when Redis goes away, and SmartLimiter changes reaching callers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testScope } from '../support/test-scope';
import type { Decision } from '@governor/limiter';
import { RedisServer } from '@governor/limiter/testing';
import type { KubeObject } from '../../src/cluster/store';
import { seedDemoMesh } from '../../src/demo/seed';
import { Governor } from '../../src/governor';
import { renderSmartLimiter, type RenderedRule } from '../../src/modules/limiter/render';
import { RlsServer, rlsClientConstructor } from '../../src/rls/rls-server';
import { startDemoBff } from '../support/demo-bff';
import { contextOf, fixturePath, loadObjects, onlyLimiter } from '../support/fixtures';
import { MODULES } from '../../src/modules';
import { productOf } from '../../src/trpc/create-api';

const bffDir = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `governor rls` as its own process (as a replica would run), resolving with its port. */
async function startRlsProcess(
  policy: string,
  redisUrl: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['bin/governor.mjs', 'rls', '-f', policy, '--port', '0', '--redis', redisUrl],
    {
      cwd: bffDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`governor rls exited (${code}): ${out}`)));
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const context = contextOf(loadObjects('context-bookinfo.yaml'));

/** The rules of a global SmartLimiter on productpage: `quota` per `seconds`. */
function globalRules(quota: number, seconds = 1, annotations: Record<string, string> = {}): RenderedRule[] {
  const yaml = `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: productpage, namespace: default, annotations: ${JSON.stringify(annotations)}}
spec:
  sets:
    _base:
      descriptor:
        - {action: {fill_interval: {seconds: ${seconds}}, quota: "${quota}", strategy: global}, condition: "true", target: {port: 9080}}`;
  const r = renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: yaml })), context });
  expect(r.problems).toEqual([]);
  return [...r.rules];
}

interface Status {
  code: string;
  current_limit?: { requests_per_unit: number; unit: string };
  limit_remaining?: number;
  duration_until_reset?: { seconds: number; nanos: number };
}
interface Response {
  overall_code: string;
  statuses: Status[];
}

type Call = (req: unknown, cb: (e: grpc.ServiceError | null, r: Response) => void) => void;

function client(port: number) {
  const Client = rlsClientConstructor();
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ShouldRateLimit: Call;
  };
  const call = (descriptorValue: string, hits = 0, domain = 'governor') =>
    new Promise<Response>((resolve, reject) =>
      c.ShouldRateLimit(
        {
          domain,
          descriptors: [{ entries: [{ key: 'generic_key', value: descriptorValue }] }],
          hits_addend: hits,
        },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
  return { call, close: () => c.close() };
}

/** Waits until the start of a fresh second, so a burst stays inside one window. */
async function startOfSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
}

describe('the rate-limit service', () => {
  const scope = testScope();

  async function start(options: ConstructorParameters<typeof RlsServer>[0] = {}) {
    const rls = new RlsServer(options);
    const port = await rls.listen('127.0.0.1', 0);
    const c = client(port);
    scope.defer(
      () => rls.close(),
      () => c.close(),
    );
    return { rls, port, ...c };
  }

  it('answers OK with what remains, then OVER_LIMIT with the time to the reset; hits_addend counts', async () => {
    const { rls, call } = await start();
    const rules = globalRules(5);
    rls.updateLimiter('default/productpage', rules);
    const id = rules[0]!.id;
    await startOfSecond();
    const first = await call(id);
    expect(first.overall_code).toBe('OK');
    expect(first.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: { requests_per_unit: 5, unit: 'SECOND' },
      limit_remaining: 4,
    });
    expect((await call(id, 3)).statuses[0]!.limit_remaining).toBe(1);
    expect((await call(id)).statuses[0]!.limit_remaining).toBe(0);
    const over = await call(id);
    expect(over.overall_code).toBe('OVER_LIMIT');
    const reset = over.statuses[0]!.duration_until_reset!;
    expect(reset.seconds * 1000 + reset.nanos / 1e6).toBeGreaterThan(0);
    expect(reset.seconds * 1000 + reset.nanos / 1e6).toBeLessThanOrEqual(1000);
    // The window rolls over: allowed again.
    await startOfSecond();
    expect((await call(id)).overall_code).toBe('OK');
    // Unknown descriptors and other domains are not limited.
    expect(await call('Service[nothing]-Id[1]')).toMatchObject({
      overall_code: 'OK',
      statuses: [{ code: 'OK' }],
    });
    expect((await call(id, 100, 'another-domain')).overall_code).toBe('OK');
  });

  it('serves grpc-go (another HTTP/2 and HPACK): every call counted, the limit held', async () => {
    const built = spawnSync('bash', [join(bffDir, '../../scripts/bench-support/build-loadgen.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    });
    expect(built.status, 'building the Go client').toBe(0);
    const loadgen = built.stdout.trim().split('\n').at(-1)!;
    let decided = 0;
    let allowed = 0;
    const { rls, port } = await start({
      onDecision: (d) => {
        decided++;
        if (d.allowed) allowed++;
      },
    });
    // 500 a day: a window that does not roll over during the run (but at midnight UTC).
    const rules = globalRules(500, 86_400);
    rls.updateLimiter('default/productpage', rules);
    const run = await new Promise<string>((resolve, reject) => {
      const child = spawn(loadgen, [
        `-addr=127.0.0.1:${port}`,
        `-value=${rules[0]!.id}`,
        '-streams=10',
        '-conns=2',
        '-duration=1s',
        '-warmup=0s',
      ]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rls-loadgen: ${out}`))));
    });
    const [, , , calls, overLimit] = run.trim().split(/\s+/).map(Number);
    expect(calls).toBeGreaterThan(1000);
    expect(decided).toBe(calls);
    expect(allowed).toBe(500);
    expect(overLimit).toBe(calls! - 500);
  }, 660_000);

  it('refuses a request beyond its limits with a gRPC status, and still serves', async () => {
    const { port, call } = await start({ requestLimits: { maxDescriptors: 3 } });
    const Client = rlsClientConstructor();
    const raw = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      ShouldRateLimit: Call;
    };
    scope.defer(() => raw.close());
    const ask = (descriptors: { entries: { key: string; value: string }[] }[]) =>
      new Promise<Response>((resolve, reject) =>
        raw.ShouldRateLimit({ domain: 'governor', descriptors }, (e, r) => (e ? reject(e) : resolve(r))),
      );
    const entry = { key: 'generic_key', value: 'v' };
    expect(
      (await ask([{ entries: [entry] }, { entries: [entry] }, { entries: [entry] }])).statuses,
    ).toHaveLength(3);
    await expect(ask(Array.from({ length: 4 }, () => ({ entries: [] })))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'RateLimitRequest: more than 3 descriptors',
    });
    await expect(ask([{ entries: Array.from({ length: 33 }, () => entry) }])).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(ask([{ entries: [{ key: 'k', value: 'v'.repeat(1025) }] }])).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'RateLimitRequest: a descriptor value longer than 1024 bytes',
    });
    await expect(ask([{ entries: [{ key: 'k'.repeat(257), value: 'v' }] }])).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(ask([{ entries: [{ key: 'k', value: 'v'.repeat(70_000) }] }])).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    expect((await call('Service[nothing]-Id[1]')).overall_code).toBe('OK');
  });

  it('shadow mode answers OK where it would limit', async () => {
    const { rls, call } = await start();
    const rules = globalRules(1, 60, { 'governor.io/shadow': 'true' });
    rls.updateLimiter('default/productpage', rules);
    for (let i = 0; i < 3; i++) expect((await call(rules[0]!.id)).overall_code).toBe('OK');
    expect(rls.engine.series(1)[0]!.totals.shadow).toBeGreaterThan(0);
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.close();
    });

    it('two governor rls processes sharing one Redis never allow more than the limit in a window', async () => {
      const url = `redis://127.0.0.1:${redis.port}`;
      const dir = mkdtempSync(join(tmpdir(), 'governor-rls-'));
      const policy = join(dir, 'policy.yaml');
      writeFileSync(
        policy,
        `${readFileSync(fixturePath('context-bookinfo.yaml'), 'utf8')}\n---\n${readFileSync(fixturePath('doc-e-global.yaml'), 'utf8').replace("quota: '100'", "quota: '20'")}`,
      );
      const processes = await Promise.all([startRlsProcess(policy, url), startRlsProcess(policy, url)]);
      scope.defer(() => rmSync(dir, { recursive: true, force: true }));
      for (const p of processes) scope.defer(() => p.stop());
      const clients = processes.map((p) => client(p.port));
      for (const c of clients) scope.defer(() => c.close());
      const id = globalRules(20, 60)[0]!.id;
      // The window is a calendar minute: keep the burst inside one.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => clients[i % 2]!.call(id)));
      expect(answers.filter((r) => r.overall_code === 'OK')).toHaveLength(20);
      expect(answers.filter((r) => r.overall_code === 'OVER_LIMIT')).toHaveLength(40);
    }, 60_000);

    it('falls back while Redis is down (fail-open allows, fail-closed denies, both recorded) and shares again once it is back', async () => {
      const url = `redis://127.0.0.1:${redis.port}`;
      const sources: string[] = [];
      const { rls, call } = await start({
        redisUrl: url,
        onDecision: (d: Decision) => sources.push(d.source),
      });
      const open = globalRules(1000, 60);
      const closedYaml = globalRules(1000, 60, { 'governor.io/fail-mode': 'closed' });
      rls.updateLimiter('default/productpage', open);
      // Counted in Redis once the connection is up.
      await vi.waitFor(async () => {
        expect((await call(open[0]!.id)).overall_code).toBe('OK');
        expect(sources.at(-1)).toBe('global');
      });

      await redis.stop(true);
      await vi.waitFor(async () => {
        expect((await call(open[0]!.id)).overall_code).toBe('OK');
        expect(sources.at(-1)).toBe('fallback');
      });
      rls.updateLimiter('default/productpage', closedYaml);
      const denied = await call(closedYaml[0]!.id);
      expect(denied.overall_code).toBe('OVER_LIMIT');
      expect(sources.at(-1)).toBe('fallback');

      await redis.start();
      rls.updateLimiter('default/productpage', open);
      await vi.waitFor(
        async () => {
          expect((await call(open[0]!.id)).overall_code).toBe('OK');
          expect(sources.at(-1)).toBe('global');
        },
        { timeout: 15_000, interval: 200 },
      );
    }, 30_000);
  });

  it('a SmartLimiter change reaches callers within a reconcile', async () => {
    const store = await scope.store();
    await seedDemoMesh(store);
    const rls = new RlsServer();
    const port = await rls.listen('127.0.0.1', 0);
    const c = client(port);
    scope.defer(
      () => rls.close(),
      () => c.close(),
    );
    const governor = new Governor({
      modules: MODULES,
      store,
      simulate: false,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      onLimiterRules: (key, rules) => rls.updateLimiter(key, rules),
    });
    scope.defer(() => governor.stop());
    await governor.start();
    const rules = globalRules(2, 60);
    const current = (await store.get('SmartLimiter', 'default', 'productpage')) as KubeObject;
    const limiter = loadObjects({
      text: `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: productpage, namespace: default}
spec:
  sets:
    _base:
      descriptor:
        - {action: {fill_interval: {seconds: 60}, quota: "2", strategy: global}, condition: "true", target: {port: 9080}}`,
    });
    await store.update({ ...current, spec: onlyLimiter(limiter).spec as unknown as KubeObject['spec'] });
    await vi.waitFor(async () => {
      const r = await c.call(rules[0]!.id);
      expect(r.statuses[0]?.current_limit?.requests_per_unit).toBe(2);
    });
  });

  it('in the BFF: serves the global descriptors of the SmartLimiters, and its decisions join the decision stream', async () => {
    const demo = await startDemoBff({
      rls: {},
      listen: false,
      governor: {
        modules: MODULES,
        simulate: false,
        metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      },
    });
    scope.defer(() => demo.close());
    const { store, bff } = demo;
    const port = await bff.listenRls('127.0.0.1', 0);
    const c = client(port);
    scope.defer(() => c.close());
    const current = (await store.get('SmartLimiter', 'default', 'productpage')) as KubeObject;
    await store.update({
      ...current,
      spec: {
        sets: {
          _base: {
            descriptor: [
              {
                action: { fill_interval: { seconds: 60 }, quota: '1', strategy: 'global' },
                condition: 'true',
                target: { port: 9080 },
              },
            ],
          },
        },
      },
    });
    const id = globalRules(1, 60)[0]!.id;
    await vi.waitFor(async () =>
      expect((await c.call(id)).statuses[0]?.current_limit?.requests_per_unit).toBe(1),
    );
    expect((await c.call(id)).overall_code).toBe('OVER_LIMIT');
    const recent = productOf(bff.api.deps)
      .decisions!.recent.since(0)
      .map((f) => f.item);
    expect(
      recent.some(
        (d) =>
          d.service === 'productpage' &&
          d.namespace === 'default' &&
          d.outcome === 'limited' &&
          d.policy === 'default/productpage',
      ),
    ).toBe(true);
  });
});
