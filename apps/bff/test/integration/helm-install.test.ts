/**
 * `helm install` of deploy/chart on the test API server (no Pods run: nothing schedules them), then what
 * the BFF's service account may do there, asked with SubjectAccessReviews: every right each enabled module
 * needs, none on Secrets, no write on what Governor does not own, and a module switched off loses its
 * rights. Then the BFF itself, as that service account: it starts, elects itself, creates the admin
 * token's ConfigMap, serves a dashboard write, and meets no Forbidden.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { useKubeTestServer } from '../support/kube-test-fixtures';
import {
  CHART_DIR,
  helm,
  HELM_BUILD_TIMEOUT_MS,
  MODULE_CRDS,
  modulesWithout,
  type Helm,
} from '../support/helm';
import {
  COMMON_RIGHTS,
  installIstioTestCrds,
  MODULE_RIGHTS,
  NAMESPACE,
  NEVER,
  rightsCheck,
  serviceAccountKubeconfig,
  type Right,
} from '../support/chart-cluster';

const BFF_DIR = fileURLToPath(new URL('../../', import.meta.url));
const running = useKubeTestServer({ installCrds: false });
let h: Helm;
let dir: string;

beforeAll(async () => {
  h = await helm({ kubeconfig: running().kubeconfigPath });
  dir = await mkdtemp(join(tmpdir(), 'governor-helm-install-'));
  await installIstioTestCrds(running());
  // The chart's Role for reading istiod's version lives in Istio's namespace.
  await running()
    .kubeConfig.makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'istio-system' } } });
}, HELM_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await h?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function valuesFile(values: Record<string, unknown>): Promise<string> {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

const key = (r: Right) => `${r.group}|${r.resource}|${r.verb}|${r.namespace}|${r.name ?? ''}`;

/** Rights of the enabled modules plus the common ones. */
function wantedFor(enabled: readonly string[]): Right[] {
  return [...COMMON_RIGHTS, ...enabled.flatMap((m) => MODULE_RIGHTS[m]!)];
}

describe('helm install deploy/chart', { timeout: 180_000 }, () => {
  it('installs into governor-system with --create-namespace; every CRD is established', async () => {
    const { stdout } = await h.run(['install', 'governor', CHART_DIR, '-n', NAMESPACE, '--create-namespace']);
    expect(stdout).toMatch(/STATUS: deployed/);
    expect(stdout).toContain('admin token');
    const api = KubernetesJsonApi.fromKubeConfig(running().kubeConfig);
    for (const name of Object.values(MODULE_CRDS).flat()) {
      const crd = await api.send<{ status: { conditions: { type: string; status: string }[] } }>({
        method: 'GET',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      });
      expect(crd.status.conditions, name).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
    }
  });

  it("the BFF's service account has every right each module needs, none on Secrets, and no more", async () => {
    const wanted = wantedFor(Object.keys(MODULE_RIGHTS));
    expect(await rightsCheck(running(), wanted, NEVER)).toEqual({ missing: [], excess: [] });
  });

  for (const module of Object.keys(MODULE_RIGHTS)) {
    it(`switching ${module} off takes its own rights away, and only those`, async () => {
      const values = await valuesFile({ modules: modulesWithout(module) });
      await h.run(['upgrade', 'governor', CHART_DIR, '-n', NAMESPACE, '-f', values]);
      const others = Object.keys(MODULE_RIGHTS).filter((m) => m !== module);
      const kept = wantedFor(others);
      // A right in one namespace is kept when the other modules have it in all.
      const keptKeys = new Set(kept.map(key));
      const lost = MODULE_RIGHTS[module]!.filter(
        (r) => !keptKeys.has(key(r)) && !keptKeys.has(key({ ...r, namespace: '' })),
      );
      expect(lost.length, module).toBeGreaterThan(0);
      expect(await rightsCheck(running(), kept, [...NEVER, ...lost])).toEqual({ missing: [], excess: [] });
      // Its CRDs stay (resource-policy keep), and with them the users' objects.
      const api = KubernetesJsonApi.fromKubeConfig(running().kubeConfig);
      for (const name of MODULE_CRDS[module]!)
        await expect(
          api.send({
            method: 'GET',
            path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
          }),
        ).resolves.toBeDefined();
    });
  }

  it('switched on again, the module has its rights back', async () => {
    // Without --reset-values an upgrade given no values reuses the last release's.
    await h.run(['upgrade', 'governor', CHART_DIR, '-n', NAMESPACE, '--reset-values']);
    expect(await rightsCheck(running(), wantedFor(Object.keys(MODULE_RIGHTS)), NEVER)).toEqual({
      missing: [],
      excess: [],
    });
  });

  describe('the BFF as the service account', () => {
    interface RunningBff {
      readonly child: ChildProcessWithoutNullStreams;
      output(): string;
      url(): Promise<string>;
    }
    interface Health {
      leader?: boolean;
      informers?: { kind: string; synced: boolean; lastError?: string }[];
    }
    const bffs: RunningBff[] = [];
    let dataDir: string;
    let kubeconfig: string;
    let modulesFile: string;

    const stopBff = async (bff: RunningBff): Promise<void> => {
      if (bff.child.exitCode !== null || bff.child.signalCode !== null) return;
      const exited = new Promise((resolve) => bff.child.once('exit', resolve));
      bff.child.kill('SIGTERM');
      await exited;
    };

    afterAll(async () => {
      for (const bff of bffs) await stopBff(bff);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    /** A BFF replica as the chart runs it: the service account's kubeconfig, the chart's modules. */
    function startBff(replica: string): RunningBff {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env))
        if (!/^(GOVERNOR_|BFF_|KUBECONFIG$|PROMETHEUS_URL$|REDIS_URL$)/.test(k)) env[k] = v;
      Object.assign(env, {
        KUBECONFIG: kubeconfig,
        GOVERNOR_NAMESPACE: NAMESPACE,
        GOVERNOR_DATA_DIR: join(dataDir, replica),
        GOVERNOR_MODULES: modulesFile,
        GOVERNOR_SLIMEBOOT_NAMESPACE: 'mesh-operator',
        BFF_HOST: '127.0.0.1',
        BFF_PORT: '0',
        GOVERNOR_RLS_PORT: '0',
        GOVERNOR_XDS_PORT: '0',
      });
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: BFF_DIR, env });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const bff: RunningBff = {
        child,
        output: () => output,
        url: () =>
          until(() => {
            if (child.exitCode !== null) throw new Error(`the BFF exited:\n${output}`);
            return /governor bff listening on (http:\/\/\S+)/.exec(output)?.[1];
          }, 60_000),
      };
      bffs.push(bff);
      return bff;
    }

    const healthOf = async (bff: RunningBff): Promise<Health> =>
      (await (await fetch(`${await bff.url()}/api/health`)).json()) as Health;

    beforeAll(async () => {
      const server = running();
      kubeconfig = await serviceAccountKubeconfig(server);
      dataDir = await mkdtemp(join(tmpdir(), 'governor-sa-bff-'));
      // The modules as the chart renders them.
      const modules = await KubernetesJsonApi.fromKubeConfig(server.kubeConfig).send<{
        data: Record<string, string>;
      }>({ method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/configmaps/governor-modules` });
      modulesFile = join(dataDir, 'slimeboot.yaml');
      await writeFile(modulesFile, modules.data['slimeboot.yaml']!);
    });

    it('starts, leads, creates the admin token ConfigMap, writes a SmartLimiter for the dashboard, and is never refused', async () => {
      const server = running();
      const admin = KubernetesJsonApi.fromKubeConfig(server.kubeConfig);
      const first = startBff('first');
      const url = await first.url();
      const output = first.output;
      expect(output()).toContain(`ConfigMap ${NAMESPACE}/governor-admin`);
      const token = /created the admin token[^\n]*\n\n\s+(\S+)/.exec(output())?.[1];
      expect(token).toBeDefined();
      const configMap = await server.kubeConfig
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: 'governor-admin', namespace: NAMESPACE });
      expect(configMap.data?.tokenSha256).toMatch(/^[0-9a-f]{64}$/);

      // The controller leads (its Lease) with every informer listing and watching.
      let seen: Health | undefined;
      const health = await until(
        async () => {
          const h = (seen = await healthOf(first));
          return h.leader === true && (h.informers ?? []).every((i) => i.synced) ? h : undefined;
        },
        60_000,
        () => seen,
      );
      expect(JSON.stringify(health)).not.toMatch(/forbidden/i);

      // The dashboard's editor writes a SmartLimiter through the BFF, i.e. as the service account.
      await server.kubeConfig
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: 'bookinfo' } } });
      const response = await fetch(`${url}/trpc/policies.applyPolicy`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          yaml: stringify({
            apiVersion: 'microservice.slime.io/v1alpha2',
            kind: 'SmartLimiter',
            metadata: { name: 'reviews', namespace: 'bookinfo' },
            spec: {
              workloadSelector: { app: 'reviews' },
              sets: {
                _base: {
                  descriptor: [
                    {
                      action: { fill_interval: { seconds: 1 }, quota: '10', strategy: 'single' },
                      condition: 'true',
                      target: { port: 9080 },
                    },
                  ],
                },
              },
            },
          }),
        }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      const stored = await admin.send<{ spec: unknown }>({
        method: 'GET',
        path: '/apis/microservice.slime.io/v1alpha2/namespaces/bookinfo/smartlimiters/reviews',
      });
      expect(stored.spec).toMatchObject({ workloadSelector: { app: 'reviews' } });
      // Give the controller a moment to reconcile it, then look for any refusal it met.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(output()).not.toMatch(/forbidden/i);
    });

    it('a second replica reads the token, waits as a follower, and takes over when the leader stops', async () => {
      const [first] = bffs;
      const second = startBff('second');
      await second.url();
      expect(second.output()).not.toContain('created the admin token');
      let seen: Health | undefined;
      await until(
        async () => {
          const h = (seen = await healthOf(second));
          return (h.informers ?? []).every((i) => i.synced) ? h : undefined;
        },
        60_000,
        () => seen,
      );
      expect((await healthOf(second)).leader).toBe(false);
      expect((await healthOf(first!)).leader).toBe(true);
      await stopBff(first!);
      // The lease runs out (15 s) unless the leader gave it up when it stopped.
      await until(async () => ((await healthOf(second)).leader === true ? true : undefined), 40_000);
      expect(second.output()).not.toMatch(/forbidden/i);
    });
  });
});

/** Polls `probe` until it gives a value; on timeout the error says what `last` saw. */
async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  last: () => unknown = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${JSON.stringify(last())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
