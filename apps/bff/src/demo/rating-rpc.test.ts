import { checkMetaRouter } from '../modules/metarouter/checks';
import { parseApplicationProtocol, parseMetaRouter } from '@governor/crd-types';
import { describe, expect, it } from 'vitest';
import { staticSnapshot } from '../framework/snapshot';
import { routeConfigurations } from '../modules/metarouter/routes';
import { metaServices } from '../modules/metarouter/services';
import { demoObjects } from './seed';

const HOST = 'rating-rpc.default.svc.cluster.local';

describe("the demo's Thrift service", () => {
  const objects = demoObjects();

  it("has a MetaRouter in Aeraki's field names that parses and checks without a word", () => {
    const raw = objects.find((o) => o.kind === 'MetaRouter' && o.metadata.name === 'rating-rpc');
    const parsed = parseMetaRouter(raw);
    expect(parsed.ok ? [] : parsed.issues).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    if (!parsed.ok) return;
    expect(checkMetaRouter(parsed.value)).toEqual({ problems: [], warnings: [] });
    expect(parsed.value.spec.localRateLimit?.conditions?.[0]?.match.attributes).toEqual({
      method: { exact: 'listRatings' },
    });
    const protocol = parseApplicationProtocol(objects.find((o) => o.kind === 'ApplicationProtocol'));
    expect(protocol.ok && protocol.value.spec).toEqual({
      protocol: 'thrift',
      codec: 'aeraki.meta_protocol.codec.thrift',
    });
  });

  it('is a MetaProtocol service whose MetaRouter renders its routes', () => {
    const snapshot = staticSnapshot(objects);
    expect(metaServices(snapshot).map((s) => [s.host, s.ports.map((p) => p.protocol)])).toEqual([
      [HOST, ['thrift']],
    ]);
    const { configs, source } = routeConfigurations(snapshot);
    expect(configs.length).toBeGreaterThan(0);
    const config = configs.find((c) => c.name === `${HOST}_9090`)!;
    expect(source.get(config.name)).toBe('default/rating-rpc');
    expect(config.routes.map((r) => r.name)).toEqual(['getRating-to-v2', 'split-v1-v2']);
    expect(config.routes[0]!.route.cluster).toBe(`outbound|9090|v2|${HOST}`);
    expect(config.routes[1]!.route.weightedClusters?.clusters).toEqual([
      { name: `outbound|9090|v1|${HOST}`, weight: 80 },
      { name: `outbound|9090|v2|${HOST}`, weight: 20 },
    ]);
  });

  it('has two v1 pods and one v2 pod, Running with their IPs, and the subsets that select them', () => {
    const pods = objects.filter((o) => o.kind === 'Pod' && o.metadata.labels?.['app'] === 'rating-rpc');
    expect(pods.map((p) => p.metadata.labels?.['version']).sort()).toEqual(['v1', 'v1', 'v2']);
    for (const p of pods) expect(p.status).toMatchObject({ phase: 'Running', podIP: expect.any(String) });
    const rule = objects.find((o) => o.kind === 'DestinationRule' && o.metadata.name === 'rating-rpc');
    expect((rule?.spec as { subsets: unknown }).subsets).toEqual([
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ]);
  });
});
