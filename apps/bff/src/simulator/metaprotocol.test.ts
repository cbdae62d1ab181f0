import type { Pod } from '@governor/crd-types';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { contextOf, loadObjects } from '../../test/support/fixtures';
import { parseExposition } from '../../test/support/exposition';
import { runFor } from '../../test/support/simulated-mesh';
import type { KubeObject } from '../cluster/store';
import { demoObjects } from '../demo/seed';
import { MetaProtocolCalls } from './metaprotocol';
import type { LoadProfile } from './load';
import { Simulator, type MeshDecision, type SimulatorOptions } from './simulator';
import { serviceKey, type SimService } from './traffic';

const HOST = 'rating-rpc.default.svc.cluster.local';
const V1 = `outbound|9090|v1|${HOST}`;
const V2 = `outbound|9090|v2|${HOST}`;

const demo = demoObjects();
const mesh = contextOf(loadObjects({ text: demo.map((o) => JSON.stringify(o)).join('\n---\n') }));
const steady = (rps: number): LoadProfile => ({ kind: 'steady', rps });

/** The demo's objects with its MetaRouter's spec replaced. */
function withRouter(spec: string): KubeObject[] {
  const router = parseAllDocuments(`apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: rating-rpc, namespace: default}
spec:
${spec}`)[0]!.toJS() as KubeObject;
  return demo.map((o) => (o.kind === 'MetaRouter' ? router : o));
}

/** ratings at `rps`, each request calling rating-rpc with these method weights. */
function simulator(
  methods: Record<string, number>,
  rps: number,
  objects: () => readonly KubeObject[] = () => demo,
  options: Partial<SimulatorOptions> = {},
): Simulator {
  return new Simulator({
    context: mesh,
    startMs: 0,
    seed: 7,
    loads: { ratings: steady(rps) },
    calls: { ratings: [{ service: 'rating-rpc', methods }] },
    metaProtocol: objects,
    ...options,
  });
}

/** `governor_metaprotocol_requests_total` summed over the samples with these labels. */
function calls(
  sim: Simulator,
  labels: Record<string, string>,
  name = 'governor_metaprotocol_requests_total',
) {
  return parseExposition(sim.renderMetrics())
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

const podsOf = (version: string) =>
  mesh.pods
    .filter((p) => p.metadata.labels?.['app'] === 'rating-rpc' && p.metadata.labels['version'] === version)
    .map((p) => p.metadata.name);

describe('MetaProtocol calls in the simulated mesh', () => {
  it('routes getRating to v2, as the MetaRouter says, with the method in the decisions', () => {
    const sim = simulator({ getRating: 1 }, 40);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => decisions.push(d));
    runFor(sim, 3);
    const rpc = decisions.filter((d) => d.service === 'rating-rpc');
    expect(rpc.length).toBeGreaterThan(100);
    expect(new Set(rpc.map((d) => d.pod))).toEqual(new Set(podsOf('v2')));
    expect(rpc[0]).toMatchObject({
      protocol: 'thrift',
      method: 'getRating',
      outcome: 'allowed',
      ruleId: 'metarouter:default/rating-rpc:default',
    });
    expect(calls(sim, { route: 'getRating-to-v2', cluster: V2, subset: 'v2', response: 'ok' })).toBe(
      rpc.length,
    );
    expect(calls(sim, { subset: 'v1' })).toBe(0);
    // Istio's counter of the v2 pod, labelled with the protocol as Aeraki's stats label it.
    const istio = parseExposition(sim.renderMetrics()).samples.filter(
      (s) =>
        s.name === 'istio_requests_total' &&
        s.labels['destination_service_name'] === 'rating-rpc' &&
        s.labels['source_app'] === 'ratings',
    );
    expect(istio.map((s) => [s.labels['pod'], s.labels['request_protocol']])).toContainEqual([
      podsOf('v2')[0],
      'thrift',
    ]);
  });

  it('splits the other methods 80/20 between v1 and v2 with a fixed seed, over both v1 pods', () => {
    // No local limit: every call is answered, so the split is the routes' alone.
    const objects = withRouter(`  hosts: [${HOST}]
  routes:
    - name: split
      route:
        - {destination: {host: ${HOST}, subset: v1}, weight: 80}
        - {destination: {host: ${HOST}, subset: v2}, weight: 20}`);
    const sim = simulator({ rateProduct: 1, listRatings: 1 }, 250, () => objects);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => d.service === 'rating-rpc' && decisions.push(d));
    runFor(sim, 8);
    const v1 = calls(sim, { cluster: V1 });
    const v2 = calls(sim, { cluster: V2 });
    expect(v1 + v2).toBe(2000);
    expect(v1 / (v1 + v2)).toBeGreaterThan(0.78);
    expect(v1 / (v1 + v2)).toBeLessThan(0.82);
    const [a, b] = podsOf('v1');
    const onA = decisions.filter((d) => d.pod === a).length;
    expect(Math.abs(onA - decisions.filter((d) => d.pod === b).length)).toBeLessThanOrEqual(1);
    expect(decisions.every((d) => d.ruleId === null && d.outcome === 'allowed')).toBe(true);
  });

  it('counts mirrored copies without changing where calls go or how they are answered', () => {
    const sim = simulator({ rateProduct: 1 }, 200);
    runFor(sim, 10);
    const split = calls(sim, { route: 'split-v1-v2' });
    const mirrored = calls(
      sim,
      { route: 'split-v1-v2', mirror_cluster: V2 },
      'governor_metaprotocol_mirrored_requests_total',
    );
    expect(split).toBe(2000);
    expect(mirrored / split).toBeGreaterThan(0.08);
    expect(mirrored / split).toBeLessThan(0.12);
    // The v2 pod answered the calls routed to it, not the copies.
    const toV2 = calls(sim, { cluster: V2 });
    const istio = parseExposition(sim.renderMetrics())
      .samples.filter(
        (s) =>
          s.name === 'istio_requests_total' &&
          s.labels['pod'] === podsOf('v2')[0] &&
          s.labels['source_app'] === 'ratings',
      )
      .reduce((n, s) => n + s.value, 0);
    expect(istio).toBe(toV2);
    const row = sim.methodTraffic.rows(HOST).find((r) => r.cluster === V1)!;
    expect(row).toMatchObject({ host: HOST, method: 'rateProduct', route: 'split-v1-v2', subset: 'v1' });
    expect(row.rps).toBeCloseTo(160, -1);
    expect(row.mirroredRps).toBeGreaterThan(10);
  });

  it('limits listRatings per pod with its own bucket, refilled as Envoy refills', () => {
    // Everything to the one v2 pod: its listRatings bucket takes 5 a second, the default 60.
    const objects = withRouter(`  hosts: [${HOST}]
  routes:
    - name: all-to-v2
      route: [{destination: {host: ${HOST}, subset: v2}}]
  localRateLimit:
    tokenBucket: {fillInterval: 1s, maxTokens: 60, tokensPerFill: 60}
    conditions:
      - match: {attributes: {method: {exact: listRatings}}}
        tokenBucket: {fillInterval: 1s, maxTokens: 5, tokensPerFill: 5}`);
    const sim = simulator({ listRatings: 1, getRating: 1 }, 40, () => objects);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => d.service === 'rating-rpc' && decisions.push(d));
    runFor(sim, 4);
    const list = decisions.filter((d) => d.method === 'listRatings');
    const allowed = list.filter((d) => d.outcome === 'allowed');
    // A full bucket (5), then 5 a second for the 4 seconds, give or take a token in flight.
    expect(allowed.length).toBeGreaterThanOrEqual(23);
    expect(allowed.length).toBeLessThanOrEqual(25);
    expect(list.filter((d) => d.outcome === 'limited').length).toBe(list.length - allowed.length);
    expect(new Set(list.map((d) => d.ruleId))).toEqual(new Set(['metarouter:default/rating-rpc:0']));
    // getRating (about 20 a second) stays within the default bucket.
    const get = decisions.filter((d) => d.method === 'getRating');
    expect(
      get.every((d) => d.outcome === 'allowed' && d.ruleId === 'metarouter:default/rating-rpc:default'),
    ).toBe(true);
    const rows = sim.methodTraffic.rows();
    const listRow = rows.find((r) => r.method === 'listRatings')!;
    expect(listRow.localLimitedRps).toBeGreaterThan(0);
    expect(calls(sim, { method: 'listRatings', response: 'local_limited' })).toBe(
      list.length - allowed.length,
    );
  });

  it('follows a MetaRouter change at the next call', () => {
    let objects: readonly KubeObject[] = demo;
    const sim = simulator({ getRating: 1 }, 40, () => objects);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => d.service === 'rating-rpc' && decisions.push(d));
    runFor(sim, 2);
    expect(new Set(decisions.map((d) => d.pod))).toEqual(new Set(podsOf('v2')));
    objects = withRouter(`  hosts: [${HOST}]
  routes:
    - name: getRating-to-v1
      match: {attributes: {method: {exact: getRating}}}
      route: [{destination: {host: ${HOST}, subset: v1}}]`);
    const before = decisions.length;
    runFor(sim, 1);
    const after = decisions.slice(before);
    expect(after.length).toBeGreaterThan(30);
    expect(new Set(after.map((d) => d.pod))).toEqual(new Set(podsOf('v1')));
    // No local limit any more.
    expect(after.every((d) => d.ruleId === null)).toBe(true);
    expect(calls(sim, { route: 'getRating-to-v1', cluster: V1 })).toBe(after.length);
  });

  it('leaves a port plain TCP while no ApplicationProtocol gives its protocol a codec', () => {
    const objects = demo.filter((o) => o.kind !== 'ApplicationProtocol');
    const sim = simulator({ getRating: 1 }, 40, () => objects);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => decisions.push(d));
    runFor(sim, 2);
    const rpc = decisions.filter((d) => d.service === 'rating-rpc');
    // Round-robin over all three pods, no method, no MetaProtocol counters.
    expect(new Set(rpc.map((d) => d.pod)).size).toBe(3);
    expect(rpc.every((d) => d.method === undefined)).toBe(true);
    expect(calls(sim, {})).toBe(0);
  });

  it('answers the calls of a cluster without pods with an error, and decides nothing', () => {
    const objects = withRouter(`  hosts: [${HOST}]
  routes:
    - name: to-v3
      route: [{destination: {host: ${HOST}, subset: v3}}]`);
    const sim = simulator({ getRating: 1 }, 20, () => objects);
    const decisions: MeshDecision[] = [];
    sim.subscribe((d) => decisions.push(d));
    runFor(sim, 2);
    expect(decisions.filter((d) => d.service === 'rating-rpc')).toEqual([]);
    expect(calls(sim, { route: 'to-v3', response: 'error' })).toBe(40);
    expect(sim.methodTraffic.rows(HOST)[0]?.errorRps).toBeGreaterThan(0);
  });

  it('runs the demo as the product does: ratings calls rating-rpc by method, limits biting at the peak', () => {
    const sim = simulator({ getRating: 60, listRatings: 30, rateProduct: 10 }, 120);
    runFor(sim, 11);
    const rows = sim.methodTraffic.rows(HOST);
    expect(new Set(rows.map((r) => r.method))).toEqual(new Set(['getRating', 'listRatings', 'rateProduct']));
    const total = rows.reduce((n, r) => n + r.rps, 0);
    expect(total).toBeCloseTo(120, -1);
    const listed = rows.filter((r) => r.method === 'listRatings' && r.subset === 'v1');
    expect(listed.reduce((n, r) => n + r.localLimitedRps, 0)).toBeGreaterThan(10);
    const got = rows.find((r) => r.method === 'getRating')!;
    expect(got).toMatchObject({ route: 'getRating-to-v2', cluster: V2, subset: 'v2' });
    expect(got.localLimitedRps).toBeGreaterThan(0);
    expect(rows.every((r) => r.globalLimitedRps === 0 && r.errorRps === 0)).toBe(true);
  });
});

describe("the inbound proxy's local rate limit", () => {
  const rpcService = (pods: Pod[]): SimService => ({
    key: serviceKey('rating-rpc'),
    namespace: 'default',
    name: 'rating-rpc',
    port: 9090,
    targetPort: 9090,
    pods,
    next: 0,
    carry: 0,
  });

  it('takes conditions first, then the top-level bucket, each refilling continuously', () => {
    const calls = new MetaProtocolCalls(() => 0.5);
    calls.refresh(demo);
    const pod = mesh.pods.find((p) => p.metadata.name === podsOf('v1')[0])!;
    const service = rpcService([pod]);
    const list = { method: 'listRatings' };
    const taken = [0, 0, 0, 0, 0, 0].map(() => calls.limit(service, pod, list, 1000));
    expect(taken.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(taken[4]).toEqual({ allowed: true, ruleId: 'metarouter:default/rating-rpc:0', remaining: 0 });
    // 5 tokens a second: one more after 200 ms, not before.
    expect(calls.limit(service, pod, list, 1199).allowed).toBe(false);
    expect(calls.limit(service, pod, list, 1200).allowed).toBe(true);
    // The bucket holds at most maxTokens, however long it waits.
    expect([0, 0, 0, 0, 0, 0].map(() => calls.limit(service, pod, list, 60_000).allowed)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
    // Another method takes from the top-level bucket; another pod has buckets of its own.
    expect(calls.limit(service, pod, { method: 'getRating' }, 60_000)).toEqual({
      allowed: true,
      ruleId: 'metarouter:default/rating-rpc:default',
      remaining: 59,
    });
    const other = mesh.pods.find((p) => p.metadata.name === podsOf('v1')[1])!;
    expect(calls.limit(service, other, list, 60_000).allowed).toBe(true);
  });
});
