import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { aerakiFixturesDir } from '../test/fixtures';
import {
  metaProtocolOfPortName,
  parseApplicationProtocol,
  parseGoDuration,
  parseMetaRouter,
} from './metaprotocol';

const aerakiDocs = (): { file: string; doc: Record<string, unknown> }[] => {
  const files = ['applicationprotocol.yaml', 'dubbo', 'thrift'].flatMap((f) =>
    f.endsWith('.yaml')
      ? [f]
      : readdirSync(join(aerakiFixturesDir, f))
          .filter((n) => n.endsWith('.yaml'))
          .map((n) => `${f}/${n}`),
  );
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(aerakiFixturesDir, file), 'utf8'))
      .map((d) => d.toJS() as Record<string, unknown> | null)
      .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object')
      .map((doc) => ({ file, doc })),
  );
};

describe("Aeraki's MetaProtocol resources", () => {
  const docs = aerakiDocs();

  it('accepts every MetaRouter and ApplicationProtocol of the demos unchanged, with no warning', () => {
    const routers = docs.filter((d) => d.doc.kind === 'MetaRouter');
    const protocols = docs.filter((d) => d.doc.kind === 'ApplicationProtocol');
    expect(routers.length).toBeGreaterThanOrEqual(11);
    expect(protocols.map((p) => p.doc.metadata)).toEqual([{ name: 'dubbo' }, { name: 'thrift' }]);
    for (const { file, doc } of routers) {
      const r = parseMetaRouter(doc);
      expect({ file, issues: r.ok ? [] : r.issues, warnings: r.warnings }).toEqual({
        file,
        issues: [],
        warnings: [],
      });
    }
    for (const { doc } of protocols) expect(parseApplicationProtocol(doc).ok).toBe(true);
  });

  it('reads snake_case and camelCase alike, and keeps an empty attribute as "present"', () => {
    const r = parseMetaRouter(
      parse(`apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: r, namespace: ns}
spec:
  hosts: [a.ns.svc.cluster.local]
  local_rate_limit:
    token_bucket: {fill_interval: 1s, max_tokens: 3}
  routes:
    - name: any
      match:
        attributes:
          foo:
          method: {prefix: say}
      route: [{destination: {host: a.ns.svc.cluster.local, subset: v1}}]
      mirror_percentage: {value: 12.5}
`),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.spec.localRateLimit?.tokenBucket).toEqual({ fillInterval: '1s', maxTokens: 3 });
    expect(r.value.spec.routes?.[0]?.match?.attributes).toEqual({ foo: null, method: { prefix: 'say' } });
    expect(r.value.spec.routes?.[0]?.mirrorPercentage).toEqual({ value: 12.5 });
  });

  it('reports a misspelt field with the closest known one, and a missing required one', () => {
    const r = parseMetaRouter({
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'MetaRouter',
      metadata: { name: 'r' },
      spec: { hosts: ['a'], rotues: [], globalRateLimit: { domain: 'd', descriptors: [] } },
    });
    expect(r.warnings.map((w) => w.suggestion)).toContain('routes');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path).sort()).toEqual([
      'spec.globalRateLimit.match',
      'spec.globalRateLimit.rateLimitService',
    ]);
  });

  it("reads Go durations as Aeraki's parser does", () => {
    expect(parseGoDuration('60s')).toBe(60_000);
    expect(parseGoDuration('100ms')).toBe(100);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('0')).toBe(0);
    for (const bad of ['', '60', 's', '-1s', '1x', '1s ms']) expect(parseGoDuration(bad)).toBeNull();
  });

  it('finds the application protocol in a port name as Aeraki does', () => {
    expect(metaProtocolOfPortName('tcp-metaprotocol-thrift-hello-server')).toBe('thrift');
    expect(metaProtocolOfPortName('tcp-metaprotocol-dubbo')).toBe('dubbo');
    expect(metaProtocolOfPortName('tcp-MetaProtocol-dubbo')).toBe('dubbo');
    expect(metaProtocolOfPortName('tcp-metaprotocol')).toBeNull();
    expect(metaProtocolOfPortName('http-web')).toBeNull();
    expect(metaProtocolOfPortName(undefined)).toBeNull();
  });
});
