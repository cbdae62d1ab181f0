/**
 * A MetaRouter's global limit through Governor's own rate-limit service, over real gRPC: the inbound
 * MetaProtocol proxy's `ratelimit` filter, as rendered from Aeraki's demo, sends its domain and one entry per
 * descriptor (the call's attribute under the descriptor's key); the service, fed the demo's rule file the
 * way the BFF is (GOVERNOR_RLS_CONFIG), refuses the 11th sayHello call in a minute and lets others through.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { aerakiDemo, aerakiFixturesDir } from '@governor/crd-types/testing';
import { describe, expect, it } from 'vitest';
import { testScope } from '../support/test-scope';
import type { KubeObject } from '../../src/cluster/store';
import type { Module } from '../../src/framework/module';
import { defaultSettings } from '../../src/framework/registry';
import { staticSnapshot } from '../../src/framework/snapshot';
import { createMetaRouterModule } from '../../src/modules/metarouter/module';
import { METAROUTER_MODULE } from '../../src/modules/metarouter/settings';
import { RlsServer, rlsClientConstructor } from '../../src/rls/rls-server';
import { loadRuleFiles } from '../../src/server/bff';

interface Response {
  overall_code: string;
}

const load = (file: string, namespace: string) => aerakiDemo<KubeObject>(namespace, file);

/** The `ratelimit` MetaProtocol filter of the service's inbound EnvoyFilter. */
function inboundRateLimitFilter(cluster: KubeObject[]) {
  const module = createMetaRouterModule({
    settings: defaultSettings(METAROUTER_MODULE),
    metrics: undefined as never,
    options: {},
  });
  const services = module.companions![0] as Module;
  const raw = cluster.find((o) => o.kind === 'Service')!;
  const parsed = services.parse(raw);
  if (!parsed.ok) throw new Error('unparsed');
  const plan = services.plan({
    object: parsed.value,
    raw,
    snapshot: staticSnapshot(cluster),
    metrics: { values: {}, health: { available: true } },
    now: new Date(),
  });
  const inbound = plan.desired.find((d) => d.metadata.name.startsWith('aeraki-inbound-'))!;
  const proxy = (
    inbound.spec as {
      configPatches: {
        patch: {
          value: {
            typed_config: {
              value: { metaProtocolFilters: { name: string; config: Record<string, unknown> }[] };
            };
          };
        };
      }[];
    }
  ).configPatches[0]!.patch.value.typed_config.value;
  return proxy.metaProtocolFilters.find((f) => f.name === 'aeraki.meta_protocol.filters.ratelimit')!
    .config as {
    domain: string;
    match: { metadata: { name: string; exactMatch?: string }[] };
    descriptors: { property: string; descriptorKey: string }[];
  };
}

describe("a MetaRouter's global limit, through Governor's rate-limit service", () => {
  const scope = testScope();

  it("counts the calls its descriptors name in its domain, with the demo's rule file", async () => {
    const cluster = [
      ...load('applicationprotocol.yaml', 'meta-thrift'),
      ...load('thrift/thrift-sample.yaml', 'meta-thrift'),
      ...load('thrift/metarouter-global-ratelimit.yaml', 'meta-thrift'),
    ];
    const filter = inboundRateLimitFilter(cluster);
    expect(filter.domain).toBe('production');

    const rls = new RlsServer();
    await loadRuleFiles(rls, [join(aerakiFixturesDir, 'thrift/config.yaml')]);
    const port = await rls.listen('127.0.0.1', 0);
    scope.defer(() => rls.close());
    const Client = rlsClientConstructor();
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ShouldRateLimit: (req: unknown, cb: (e: grpc.ServiceError | null, r: Response) => void) => void;
    };
    scope.defer(() => c.close());

    /** What the proxy's filter sends for a call: nothing when the filter's match does not match. */
    const callWith = (attributes: Record<string, string>) => {
      const matches = filter.match.metadata.every((m) => attributes[m.name] === m.exactMatch);
      if (!matches) return Promise.resolve('NOT_COUNTED');
      const entries = filter.descriptors.map((d) => ({
        key: d.descriptorKey,
        value: attributes[d.property] ?? '',
      }));
      return new Promise<string>((resolve, reject) =>
        c.ShouldRateLimit({ domain: filter.domain, descriptors: [{ entries }] }, (e, r) =>
          e ? reject(e) : resolve(r.overall_code),
        ),
      );
    };
    // The rule file's window is a minute: start away from its end, so that all calls share one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) codes.push(await callWith({ method: 'sayHello' }));
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('OK'));
    expect(codes[10]).toBe('OVER_LIMIT');
    expect(await callWith({ method: 'sayGoodbye' })).toBe('NOT_COUNTED');
    expect(rls.domains()).toContainEqual({ domain: 'production', rules: 1 });
  }, 90_000);

  it('refuses a rule file with errors, naming the file and line', async () => {
    const rls = new RlsServer();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'domain: production\ndescriptors:\n  - key: method\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n',
    );
    await expect(loadRuleFiles(rls, [file])).rejects.toThrow(new RegExp(`${file}:4:`));
    expect(rls.domains().map((d) => d.domain)).not.toContain('production');
  });
});
