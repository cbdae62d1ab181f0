/**
 * The Helm chart in deploy/chart, rendered by a real helm (built from its Go module): it lints strictly,
 * deploy/ is true to it and to packages/crd-types, and each module's CRDs and rights come and go with the
 * module. What the rendered RBAC allows on an API server is helm-install.test.ts's concern.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { governorCrds } from '@governor/crd-types';
import { loadModuleConfig } from '../../src/framework/module-config';
import { MODULES } from '../../src/modules';
import {
  buildHelm,
  CHART_DIR,
  helm,
  HELM_BUILD_TIMEOUT_MS,
  MODULE_CRDS,
  modulesWithout,
  type Helm,
} from '../support/helm';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'apps/bff/package.json'), 'utf8')) as { version: string }
).version;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Rule[];
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

let h: Helm;
let dir: string;

beforeAll(async () => {
  h = await helm();
  dir = await mkdtemp(join(tmpdir(), 'governor-chart-'));
}, HELM_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await h?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function template(values: Record<string, unknown> = {}): Promise<Obj[]> {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  const { stdout } = await h.run(['template', 'governor', CHART_DIR, '-n', 'governor-system', '-f', file]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const clusterRules = (objects: Obj[]): Rule[] =>
  objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'governor-controller')!.rules!;
const resourcesOf = (rules: Rule[]): Set<string> => new Set(rules.flatMap((r) => r.resources));

describe('deploy/chart', { timeout: 120_000 }, () => {
  it('passes helm lint --strict', async () => {
    const { stdout } = await h.run(['lint', '--strict', CHART_DIR]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('refuses values its schema does not know, or that the BFF would refuse', async () => {
    await expect(template({ bff: { replica: 3 } })).rejects.toThrow(/additional properties 'replica'/);
    await expect(template({ bff: { redisUrl: 'localhost:6379' } })).rejects.toThrow(/redisUrl/);
    await expect(template({ web: { origins: ['https://governor.example.com/'] } })).rejects.toThrow(
      /origins/,
    );
  });

  it('deploy/governor.yaml, the chart CRDs and the chart version are current (scripts/sync-deploy.mjs --check)', async () => {
    const check = promisify(execFile)('node', [join(REPO_ROOT, 'scripts/sync-deploy.mjs'), '--check'], {
      env: { ...process.env, HELM: await buildHelm() },
    });
    await expect(check).resolves.toBeDefined();
    const chart = readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8');
    expect(chart).toMatch(new RegExp(`^version: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    expect(chart).toMatch(new RegExp(`^appVersion: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
  });

  it('renders every CRD with resource-policy keep, the same as packages/crd-types', async () => {
    const objects = await template();
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const expected = Object.values(governorCrds());
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(expected.map((c) => c.metadata.name).sort());
    for (const crd of crds) {
      expect(crd.metadata.annotations?.['helm.sh/resource-policy'], crd.metadata.name).toBe('keep');
      const source = expected.find((c) => c.metadata.name === crd.metadata.name)!;
      expect(crd.spec, crd.metadata.name).toEqual(JSON.parse(JSON.stringify(source.spec)));
    }
  });

  it('renders the BFF and the dashboard from the images of this version, non-root, read-only', async () => {
    const objects = await template();
    type Container = {
      image: string;
      imagePullPolicy: string;
      env: { name: string; value?: string }[];
      readinessProbe: { httpGet: { path: string; port: string } };
      livenessProbe: { httpGet?: { path: string; port: string } };
      securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
      volumeMounts: { name: string; mountPath: string }[];
    };
    type Deployment = Obj & {
      spec: {
        replicas: number;
        template: {
          spec: {
            securityContext: { runAsNonRoot: boolean; runAsUser: number };
            containers: Container[];
            volumes: { name: string; emptyDir?: object }[];
          };
        };
      };
    };
    const deployment = (name: string) =>
      objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as Deployment;
    const bff = deployment('governor-bff');
    expect(bff.spec.replicas).toBe(2);
    const pod = bff.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const container = pod.containers[0]!;
    expect(container.image).toBe(`governor/bff:${VERSION}`);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.readinessProbe.httpGet).toEqual({ path: '/api/health', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/api/health', port: 'http' });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    for (const path of ['/tmp', '/var/lib/governor']) {
      const mount = container.volumeMounts.find((m) => m.mountPath === path);
      expect(pod.volumes.find((v) => v.name === mount?.name)?.emptyDir, path).toEqual({});
    }
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ GOVERNOR_SLIMEBOOT_NAMESPACE: 'mesh-operator', BFF_PORT: '4000' });
    expect(env).not.toHaveProperty('REDIS_URL');
    expect(env).not.toHaveProperty('PROMETHEUS_URL');
    expect(deployment('governor-web').spec.template.spec.containers[0]!.image).toBe(
      `governor/web:${VERSION}`,
    );

    const custom = await template({
      image: { registry: 'registry.example.com/', tag: '9.9.9', pullPolicy: 'Always' },
      slimeBootNamespace: '-',
      bff: { replicas: 3, redisUrl: 'redis://redis:6379', prometheusUrl: 'http://prometheus:9090' },
    });
    const customBff = custom.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'governor-bff',
    ) as Deployment;
    expect(customBff.spec.replicas).toBe(3);
    const c = customBff.spec.template.spec.containers[0]!;
    expect(c.image).toBe('registry.example.com/governor/bff:9.9.9');
    expect(c.imagePullPolicy).toBe('Always');
    expect(Object.fromEntries(c.env.map((e) => [e.name, e.value]))).toMatchObject({
      REDIS_URL: 'redis://redis:6379',
      PROMETHEUS_URL: 'http://prometheus:9090',
      GOVERNOR_SLIMEBOOT_NAMESPACE: '-',
    });
  });

  it('admits browser sessions from the dashboard origins given, by default the port-forward of NOTES.txt', async () => {
    const originsOf = async (values: Record<string, unknown>) => {
      const objects = await template(values);
      const bff = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'governor-bff',
      ) as Obj & {
        spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
      };
      return bff.spec.template.spec.containers[0]!.env.find((e) => e.name === 'GOVERNOR_ALLOWED_ORIGINS')
        ?.value;
    };
    expect(await originsOf({})).toBe('http://localhost:8080,http://127.0.0.1:8080');
    expect(await originsOf({ web: { origins: ['https://governor.example.com'] } })).toBe(
      'https://governor.example.com',
    );
  });

  it("serves Envoy's access-log service only when lazyload learns from access logs", async () => {
    const names = (objects: Obj[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names(await template())).not.toContain('Service/governor-als');
    const modules = modulesWithout('none').map((m) =>
      m.kind === 'lazyload' ? { ...m, general: { metricSourceType: 'accesslog' } } : m,
    );
    const objects = await template({ modules });
    expect(names(objects)).toContain('Service/governor-als');
    const policy = objects.find((o) => o.kind === 'NetworkPolicy') as Obj & {
      spec: { ingress: { ports: { port: string }[] }[] };
    };
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toContain('als');
    const bff = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'governor-bff') as Obj & {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    expect(bff.spec.template.spec.containers[0]!.env).toContainEqual({
      name: 'GOVERNOR_ACCESSLOG_PORT',
      value: '8082',
    });
  });

  it('lets Prometheus scrape the BFF, as the values say', async () => {
    type Policy = Obj & { spec: { ingress: { from: unknown[]; ports: { port: string }[] }[] } };
    const httpPeers = (objects: Obj[]) =>
      (objects.find((o) => o.kind === 'NetworkPolicy') as Policy).spec.ingress
        .filter((r) => r.ports.some((p) => p.port === 'http'))
        .flatMap((r) => r.from);
    const web = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'governor-web' } } };
    const prometheus = {
      namespaceSelector: {},
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    };
    const defaults = await template();
    expect(httpPeers(defaults)).toEqual([web, prometheus]);
    const bff = defaults.find((o) => o.kind === 'Deployment' && o.metadata.name === 'governor-bff') as Obj & {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    expect(bff.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '4000',
      'prometheus.io/path': '/metrics',
    });
    expect(httpPeers(await template({ networkPolicy: { metricsFrom: [] } }))).toEqual([web]);
    const monitoring = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    };
    expect(httpPeers(await template({ networkPolicy: { metricsFrom: [monitoring] } }))).toEqual([
      web,
      monitoring,
    ]);
  });

  it('the modules ConfigMap is a SlimeBoot the BFF loads without a complaint', async () => {
    for (const [values, enabled] of [
      [{}, ['limiter', 'lazyload', 'plugin', 'metarouter']],
      [{ modules: modulesWithout('plugin') }, ['limiter', 'lazyload', 'metarouter']],
    ] as const) {
      const objects = await template(values);
      const text = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'governor-modules')!
        .data!['slimeboot.yaml']!;
      const loaded = loadModuleConfig(
        text,
        MODULES.map((m) => m.settings),
      );
      expect(loaded.errors).toEqual([]);
      expect(loaded.warnings).toEqual([]);
      expect(
        Object.entries(loaded.modules)
          .filter(([, m]) => m.enable)
          .map(([name]) => name),
      ).toEqual(enabled);
    }
  });

  it('grants nothing on Secrets, and no write on workloads, Services or CRDs', async () => {
    const objects = await template();
    const rules = objects.flatMap((o) => (o.kind === 'ClusterRole' || o.kind === 'Role' ? o.rules! : []));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.resources).not.toContain('secrets');
      expect(rule.resources).not.toContain('*');
      expect(rule.verbs).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
      if (
        rule.resources.some((r) =>
          ['deployments', 'services', 'customresourcedefinitions', 'pods'].includes(r),
        )
      )
        expect(
          rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v)),
          rule.resources.join(),
        ).toEqual([]);
    }
  });

  for (const module of Object.keys(MODULE_CRDS)) {
    it(`without ${module}: its CRDs and only its rights are gone`, async () => {
      const all = await template();
      const without = await template({ modules: modulesWithout(module) });
      const crds = (objects: Obj[]) =>
        objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
      expect(crds(without).sort()).toEqual(
        crds(all)
          .filter((n) => !MODULE_CRDS[module]!.includes(n))
          .sort(),
      );
      // The plurals of its CRDs (and their status) are in no rule any more; the other modules' are.
      const plurals = MODULE_CRDS[module]!.map((n) => n.split('.')[0]!);
      const left = resourcesOf(clusterRules(without));
      for (const plural of plurals) {
        expect(left.has(plural), plural).toBe(false);
        expect(left.has(`${plural}/status`), `${plural}/status`).toBe(false);
      }
      for (const [other, names] of Object.entries(MODULE_CRDS))
        if (other !== module)
          for (const name of names) expect(left.has(name.split('.')[0]!), `${other}: ${name}`).toBe(true);
      // Everything else in the chart is the same objects.
      const names = (objects: Obj[]) =>
        objects
          .filter((o) => o.kind !== 'CustomResourceDefinition')
          .map((o) => `${o.kind}/${o.metadata.name}`);
      expect(names(without)).toEqual(names(all));
    });
  }

  it('without the dashboard editing, the modules kinds are read-only to the BFF', async () => {
    const rules = clusterRules(await template({ rbac: { dashboardEdits: false } }));
    for (const plural of [
      'smartlimiters',
      'servicefences',
      'pluginmanagers',
      'envoyplugins',
      'metarouters',
      'slimeboots',
    ]) {
      const verbs = rules.filter((r) => r.resources.includes(plural)).flatMap((r) => r.verbs);
      // lazyload's own ServiceFences (autofence) are its to write.
      if (plural !== 'servicefences') expect(verbs.sort(), plural).toEqual(['get', 'list', 'watch']);
    }
  });
});
