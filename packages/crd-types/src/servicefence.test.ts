import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { slimeFixturesDir } from '../test/fixtures';
import { serviceFenceCrd } from './crd';
import { DOMAIN_STATUS, parseServiceFence } from './servicefence';

const fence = (spec: string, status = '') =>
  parse(`apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: reviews, namespace: default}
spec:
${spec.replace(/^/gm, '  ')}
${status}`) as unknown;

describe('parseServiceFence', () => {
  it("accepts the tutorial's fence, its template label dropped", () => {
    const text = readFileSync(join(slimeFixturesDir, 'lazyload/servicefence_productpage.yaml'), 'utf8');
    const r = parseServiceFence(parse(text.replace(/^.*\{\{.*$/gm, '')));
    expect(r.warnings).toEqual([]);
    expect(r.ok && r.value.spec).toEqual({ enable: true });
    expect(r.ok && r.value.metadata.namespace).toBe('default');
  });

  it("reads every recycling strategy by Slime's names", () => {
    const r = parseServiceFence(
      fence(`enable: true
host:
  reviews.default.svc.cluster.local: {stable: {}}
  ratings.default.svc.cluster.local: {deadline: {expire: {seconds: 1700000000}}}
  details: {auto: {duration: {seconds: "60"}}, RecentlyCalled: {seconds: 1700000000}}
  test/*: {}
labelSelector:
  - selector: {project: back}
workloadSelector: {fromService: true, labels: {app: reviews}}`),
    );
    expect(r.ok ? [] : r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    if (!r.ok) return;
    expect(r.value.spec.host).toEqual({
      'reviews.default.svc.cluster.local': { stable: {} },
      'ratings.default.svc.cluster.local': { deadline: { expire: { seconds: 1700000000 } } },
      details: { auto: { duration: { seconds: 60 } }, RecentlyCalled: { seconds: 1700000000 } },
      'test/*': {},
    });
    expect(r.value.spec.labelSelector).toEqual([{ selector: { project: 'back' } }]);
    expect(r.value.spec.workloadSelector).toEqual({ fromService: true, labels: { app: 'reviews' } });
  });

  it("reads Slime's status: domain states as numbers, metric keys as Slime writes them", () => {
    const r = parseServiceFence(
      fence(
        'enable: true',
        `status:
  domains:
    reviews.default.svc.cluster.local: {hosts: [reviews.default.svc.cluster.local], status: 2}
  metricStatus:
    '{destination_service="reviews.default.svc.cluster.local"}': "12"`,
      ),
    );
    expect(r.ok && r.value.status).toEqual({
      domains: {
        'reviews.default.svc.cluster.local': {
          hosts: ['reviews.default.svc.cluster.local'],
          status: DOMAIN_STATUS.EXPIREWAIT,
        },
      },
      metricStatus: { '{destination_service="reviews.default.svc.cluster.local"}': '12' },
    });
  });

  it('keeps unknown fields out of the way and reports them with a suggestion', () => {
    const r = parseServiceFence(
      fence(`enable: true
hosts: {a: {}}
host:
  b.default.svc.cluster.local: {stabel: {}}`),
    );
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      { path: 'spec.hosts', key: 'hosts', suggestion: 'host' },
      { path: 'spec.host.b.default.svc.cluster.local.stabel', key: 'stabel', suggestion: 'stable' },
    ]);
  });

  it('rejects a value of the wrong type with its path', () => {
    const r = parseServiceFence(fence('enable: "yes"\nhost: {a: {deadline: {expire: {seconds: x}}}}'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues.map((i) => i.path).sort()).toEqual([
      'spec.enable',
      'spec.host.a.deadline.expire.seconds',
    ]);
  });
});

describe('serviceFenceCrd', () => {
  it("keeps Slime's names in the manifest, the domain state an integer", () => {
    const schema = serviceFenceCrd().spec.versions[0]!.schema.openAPIV3Schema as {
      properties: {
        spec: { properties: Record<string, unknown> };
        status: { properties: Record<string, unknown> };
      };
    };
    expect(Object.keys(schema.properties.spec.properties).sort()).toEqual([
      'enable',
      'host',
      'labelSelector',
      'namespaceSelector',
      'workloadSelector',
    ]);
    expect(JSON.stringify(schema.properties.status)).toContain(
      '"status":{"description":"0 ACTIVE, 1 EXPIRE, 2 EXPIREWAIT.","type":"integer"',
    );
  });
});
