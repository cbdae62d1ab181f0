/**
 * Several domains in Governor's rate-limit service over real gRPC: Aeraki's thrift demo file
 * (`production`, method sayHello 10 a minute) beside the SmartLimiters' `governor` domain, in one engine
 * and one decision stream, in this process and as `governor rls --config` counting in a real Redis.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { testScope } from '../support/test-scope';
import { aerakiFixturesDir } from '@governor/crd-types/testing';
import { RedisServer } from '@governor/limiter/testing';
import { MODULES } from '../../src/modules';
import { productOf } from '../../src/trpc/create-api';
import { renderSmartLimiter } from '../../src/modules/limiter/render';
import { parseRateLimitConfig } from '../../src/rls/ratelimit-config';
import { RlsServer, rlsClientConstructor } from '../../src/rls/rls-server';
import { startDemoBff } from '../support/demo-bff';
import { contextOf, loadObjects, onlyLimiter } from '../support/fixtures';

const bffDir = fileURLToPath(new URL('../..', import.meta.url));
const configPath = join(aerakiFixturesDir, 'thrift/config.yaml');
const production = () => {
  const { config } = parseRateLimitConfig(configPath, readFileSync(configPath, 'utf8'));
  return config!;
};

/** A global SmartLimiter on productpage: `quota` a minute. */
function limiterRules(quota: number) {
  const yaml = `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: productpage, namespace: default}
spec:
  sets:
    _base:
      descriptor:
        - {action: {fill_interval: {seconds: 60}, quota: "${quota}", strategy: global}, condition: "true", target: {port: 9080}}`;
  const context = contextOf(loadObjects('context-bookinfo.yaml'));
  const r = renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: yaml })), context });
  expect(r.problems).toEqual([]);
  return [...r.rules];
}

interface Status {
  code: string;
  current_limit?: { requests_per_unit: number; unit: string; name: string };
  limit_remaining?: number;
}
interface Response {
  overall_code: string;
  statuses: Status[];
}

function client(port: number) {
  const Client = rlsClientConstructor();
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ShouldRateLimit: (req: unknown, cb: (e: grpc.ServiceError | null, r: Response) => void) => void;
  };
  const call = (domain: string, entries: { key: string; value: string }[]) =>
    new Promise<Response>((resolve, reject) =>
      c.ShouldRateLimit({ domain, descriptors: [{ entries }] }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  return {
    call,
    method: (name: string) => call('production', [{ key: 'method', value: name }]),
    governor: (value: string) => call('governor', [{ key: 'generic_key', value }]),
    close: () => c.close(),
  };
}

/** OK, and no limit applied to the one descriptor (the client fills in protobuf's defaults). */
function expectNoLimit(r: Response): void {
  expect(r.overall_code).toBe('OK');
  expect(r.statuses).toHaveLength(1);
  expect(r.statuses[0]!.code).toBe('OK');
  expect(r.statuses[0]!.current_limit ?? null).toBeNull();
}

/** The windows are calendar minutes: a burst that starts late in one would straddle two. */
async function earlyInMinute(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
}

const scope = testScope();

describe('the rate-limit service with several domains', { timeout: 90_000 }, () => {
  it("limits production's sayHello to 10 a minute, leaves other methods alone, and still serves governor", async () => {
    const decisions: { domain: string; ruleId: string | null; outcome: string }[] = [];
    const rls = new RlsServer({
      onDecision: (d, _entries, domain) => decisions.push({ domain, ruleId: d.ruleId, outcome: d.outcome }),
    });
    const port = await rls.listen('127.0.0.1', 0);
    const c = client(port);
    scope.defer(
      () => rls.close(),
      () => c.close(),
    );
    const limiter = limiterRules(3);
    rls.updateLimiter('default/productpage', limiter);
    const config = production();
    rls.updateDomainRules(`file:${config.file}`, config.domain, config.rules);
    expect(rls.domains()).toEqual([
      { domain: 'governor', rules: 1 },
      { domain: 'production', rules: 1 },
    ]);

    await earlyInMinute();
    const answers: Response[] = [];
    for (let i = 0; i < 11; i++) answers.push(await c.method('sayHello'));
    expect(answers.slice(0, 10).map((a) => a.overall_code)).toEqual(Array(10).fill('OK'));
    expect(answers[0]!.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: { requests_per_unit: 10, unit: 'MINUTE', name: 'production:method=sayHello' },
      limit_remaining: 9,
    });
    expect(answers[10]!.overall_code).toBe('OVER_LIMIT');
    expect(answers[10]!.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    // Another method matches no descriptor: OK, no limit, no count.
    expectNoLimit(await c.method('sayGoodbye'));
    // A domain nobody configured: OK, as before.
    expect((await c.call('staging', [{ key: 'method', value: 'sayHello' }])).overall_code).toBe('OK');

    // The SmartLimiters' domain, side by side, counts on its own.
    const id = limiter[0]!.id;
    const governor = [await c.governor(id), await c.governor(id), await c.governor(id), await c.governor(id)];
    expect(governor.map((a) => a.overall_code)).toEqual(['OK', 'OK', 'OK', 'OVER_LIMIT']);
    expect(governor[0]!.statuses[0]!.current_limit).toMatchObject({ requests_per_unit: 3, name: id });
    // The same descriptor sent to production is no rule of it.
    expectNoLimit(await c.method(id));

    // One stream, each decision with its domain; the rule ids say it too.
    expect(decisions.filter((d) => d.domain === 'production').map((d) => d.outcome)).toEqual([
      ...Array(10).fill('allowed'),
      'limited',
    ]);
    expect(new Set(decisions.filter((d) => d.domain === 'production').map((d) => d.ruleId))).toEqual(
      new Set(['production:method=sayHello']),
    );
    expect(decisions.filter((d) => d.domain === 'governor').map((d) => d.ruleId)).toEqual(Array(4).fill(id));
    // One engine: its series has both.
    expect(rls.engine.series(60).map((s) => s.ruleId)).toEqual([id, 'production:method=sayHello']);

    // The file's rules go, the domain goes: OK again. A SmartLimiter change keeps the domain's rules.
    rls.updateLimiter('default/productpage', limiterRules(5));
    expect((await c.method('sayHello')).overall_code).toBe('OVER_LIMIT');
    rls.updateDomainRules(`file:${config.file}`, config.domain, null);
    expectNoLimit(await c.method('sayHello'));
  });

  it('looks a descriptor up as envoyproxy/ratelimit does: exact first, no backtracking, unlimited, replaces, shadow', async () => {
    const rls = new RlsServer();
    scope.defer(() => rls.close());
    const text = `domain: mongo
descriptors:
  - key: db
    value: users
    descriptors:
      - key: op
        value: read
        rate_limit: {unit: minute, requests_per_unit: 1}
  - key: db
    descriptors:
      - key: op
        rate_limit: {unit: minute, requests_per_unit: 100}
  - key: tenant
    value: "team-*"
    rate_limit: {unit: minute, requests_per_unit: 1, name: per-team}
  - key: vip
    rate_limit: {unit: minute, requests_per_unit: 1, replaces: [{name: per-team}]}
  - key: internal
    rate_limit: {unlimited: true}
  - key: trial
    shadow_mode: true
    rate_limit: {unit: minute, requests_per_unit: 0}
`;
    const { config, issues } = parseRateLimitConfig('mongo.yaml', text);
    expect(issues).toEqual([]);
    rls.updateDomainRules('file:mongo.yaml', 'mongo', config!.rules);
    const ask = (...descriptors: [string, string][][]) =>
      rls.shouldRateLimit({
        domain: 'mongo',
        hits_addend: 0,
        descriptors: descriptors.map((entries) => ({
          entries: entries.map(([key, value]) => ({ key, value })),
        })),
      });
    const limitOf = async (...entries: [string, string][]) =>
      (await ask(entries)).statuses[0]!.current_limit?.requests_per_unit;
    await earlyInMinute();
    expect(await limitOf(['db', 'users'], ['op', 'read'])).toBe(1);
    // db=users exists, so db (any value) is never tried: envoyproxy/ratelimit does not backtrack.
    expect(await limitOf(['db', 'users'], ['op', 'write'])).toBeUndefined();
    expect(await limitOf(['db', 'orders'], ['op', 'write'])).toBe(100);
    // A request shorter or longer than the rule's chain gets no limit.
    expect(await limitOf(['db', 'orders'])).toBeUndefined();
    // A pattern: one counter per value.
    expect((await ask([['tenant', 'team-a']])).overall_code).toBe('OK');
    expect((await ask([['tenant', 'team-a']])).overall_code).toBe('OVER_LIMIT');
    expect((await ask([['tenant', 'team-b']])).overall_code).toBe('OK');
    expect(await limitOf(['tenant', 'other'])).toBeUndefined();
    // vip replaces per-team in the same request: team-a is over, but not counted.
    const both = await ask([['tenant', 'team-a']], [['vip', 'x']]);
    expect(both.overall_code).toBe('OK');
    expect(both.statuses[0]).toEqual({ code: 'OK' });
    expect(both.statuses[1]!.current_limit?.name).toBe('mongo:vip');
    expect(await ask([['internal', 'x']])).toMatchObject({
      overall_code: 'OK',
      statuses: [{ code: 'OK', limit_remaining: 4_294_967_295 }],
    });
    // Shadow mode: over its limit of 0, answered OK, counted as shadow.
    expect(await ask([['trial', 'x']])).toMatchObject({
      overall_code: 'OK',
      statuses: [{ code: 'OK', limit_remaining: 0 }],
    });
    expect(rls.engine.series(60).find((s) => s.ruleId === 'mongo:trial')!.totals.shadow).toBe(1);
  });

  it('refuses rules that clash, keeping what it had', async () => {
    const rls = new RlsServer();
    scope.defer(() => rls.close());
    const rule = {
      id: 'sayHello',
      entries: [{ key: 'method', value: 'sayHello' }],
      requestsPerUnit: 1,
      unit: 'MINUTE' as const,
    };
    rls.updateDomainRules('metarouter:meta-thrift/a', 'production', [rule]);
    expect(rls.domainRule('production:sayHello')?.source).toBe('metarouter:meta-thrift/a');
    expect(() =>
      rls.updateDomainRules('metarouter:meta-thrift/b', 'production', [{ ...rule, id: 'other' }]),
    ).toThrow(
      'domain production: production:other (metarouter:meta-thrift/b) has the same descriptor as production:sayHello (metarouter:meta-thrift/a)',
    );
    expect(() =>
      rls.updateDomainRules('x', 'production', [
        { ...rule, id: 'bad', entries: [{ key: 'm', value: '' }], requestsPerUnit: -1 },
      ]),
    ).toThrow(/requestsPerUnit must be a non-negative integer/);
    expect(() => rls.updateDomainRules('x', 'governor', [rule])).toThrow(/SmartLimiters' own/);
    // Removing needs only the source.
    rls.updateDomainRules('metarouter:meta-thrift/gone', '', null);
    // Still the first rule, alone.
    expect(rls.domains()).toEqual([
      { domain: 'governor', rules: 0 },
      { domain: 'production', rules: 1 },
    ]);
    expect(
      (
        await rls.shouldRateLimit({
          domain: 'production',
          hits_addend: 0,
          descriptors: [{ entries: [{ key: 'method', value: 'sayHello' }] }],
        })
      ).statuses[0]!.current_limit?.name,
    ).toBe('production:sayHello');
  });

  it("in the BFF: another domain's decisions join the decision stream", async () => {
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
    const { bff } = demo;
    const port = await bff.listenRls('127.0.0.1', 0);
    const c = client(port);
    scope.defer(() => c.close());
    const config = production();
    bff.rls!.updateDomainRules(`file:${config.file}`, config.domain, config.rules);
    await c.method('sayHello');
    const recent = productOf(bff.api.deps)
      .decisions!.recent.since(0)
      .map((f) => f.item);
    expect(recent.some((d) => d.ruleId === 'production:method=sayHello' && d.outcome === 'allowed')).toBe(
      true,
    );
  });
});

describe('governor rls --config with Redis', () => {
  it('counts production in Redis under keys that name the domain, apart from governor', async () => {
    const redis = await RedisServer.start();
    scope.defer(() => redis.close());
    const url = `redis://127.0.0.1:${redis.port}`;
    const child = spawn(
      process.execPath,
      ['bin/governor.mjs', 'rls', '--config', configPath, '--port', '0', '--redis', url],
      {
        cwd: bffDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    scope.defer(async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    });
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
    const c = client(port);
    scope.defer(() => c.close());
    await earlyInMinute();
    const answers: string[] = [];
    for (let i = 0; i < 11; i++) answers.push((await c.method('sayHello')).overall_code);
    expect(answers).toEqual([...Array(10).fill('OK'), 'OVER_LIMIT']);
    expect((await c.method('sayGoodbye')).overall_code).toBe('OK');
    // The governor domain has no rules here: OK, and nothing counted for it.
    expect((await c.governor('method')).overall_code).toBe('OK');
    const keys = execFileSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^governor:rls:production:method=sayHello:\d+$/);
    // envoyproxy/ratelimit's count: the request over the limit is counted too.
    expect(
      execFileSync('redis-cli', ['-p', String(redis.port), 'GET', keys[0]!], { encoding: 'utf8' }).trim(),
    ).toBe('11');
  }, 60_000);
});
