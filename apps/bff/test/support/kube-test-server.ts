/**
 * A real Kubernetes API server for integration tests: etcd and kube-apiserver built from their Go modules
 * (scripts/test-cluster/build-binaries.sh, cached outside the repository), started on free loopback ports
 * with a temporary data directory, an admin token, RBAC, and the CRDs Governor reads and writes.
 *
 * There is no kube-controller-manager: no garbage collection, no namespace finalization, no default
 * service accounts. CRDs, custom resources, status subresources, validation, watch, RBAC and server-side
 * apply all behave as on a cluster.
 *
 * Use one per test file: start it in `beforeAll` and stop it in `afterAll`, so that a failing test still
 * stops the processes. Should the test process die without `stop()`, a watchdog kills them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { AlreadyExistsError } from '../../src/cluster/store';

export interface KubeTestServer {
  /** A kubeconfig file for the server (token auth, `insecure-skip-tls-verify`), e.g. for KUBECONFIG. */
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** Bearer token of a `system:masters` user. */
  readonly token: string;
  /** The temporary directory: etcd data, certificates, keys, kubeconfig and the processes' logs. */
  readonly dir: string;
  /** Stops kube-apiserver and starts it again on the same port and etcd (state survives). */
  restartApiServer(): Promise<void>;
  /** Stops kube-apiserver only (etcd keeps the state): the cluster is unreachable until `startApiServer`. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and etcd, and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** Stops both processes (SIGTERM, then SIGKILL) and removes the temporary directory. */
  stop(): Promise<void>;
}

export interface KubeTestServerOptions {
  /** Install Governor's CRDs and the permissive Istio stand-ins (default true). */
  readonly installCrds?: boolean;
}

/**
 * For `beforeAll`: a cold build of the binaries takes 10-20 minutes on 2 cores, then startup ~5-20 s.
 */
export const KUBE_TEST_SERVER_START_TIMEOUT_MS = 40 * 60_000;
export const KUBE_TEST_SERVER_STOP_TIMEOUT_MS = 30_000;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/test-cluster/build-binaries.sh');
const GOVERNOR_CRDS_DIR = join(REPO_ROOT, 'packages/crd-types/manifests');
const ISTIO_TEST_CRDS = fileURLToPath(new URL('../fixtures/istio-test-crds.yaml', import.meta.url));

const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

export async function startKubeTestServer(options: KubeTestServerOptions = {}): Promise<KubeTestServer> {
  const binDir = await buildBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'governor-kube-'));
  const processes = new ProcessGroup(dir);
  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    await processes.start('etcd', join(binDir, 'etcd'), [
      '--name=governor-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=governor-test=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor('etcd', processes, READY_TIMEOUT_MS, async () => {
      const response = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return response?.ok === true && ((await response.json()) as { health?: string }).health === 'true';
    });

    const token = randomBytes(24).toString('hex');
    const apiServerArgs = await prepareApiServer({ dir, etcdUrl, apiPort, token });
    const server = `https://127.0.0.1:${apiPort}`;
    const startApiServer = async (): Promise<void> => {
      await processes.start('kube-apiserver', join(binDir, 'kube-apiserver'), apiServerArgs);
      await waitFor('kube-apiserver', processes, READY_TIMEOUT_MS, () => isReady(server, token));
    };
    await startApiServer();

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'governor-test', server, skipTLSVerify: true }],
      users: [{ name: 'admin', token }],
      contexts: [{ name: 'governor-test', cluster: 'governor-test', user: 'admin' }],
      currentContext: 'governor-test',
    });
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });

    if (options.installCrds ?? true) await installCrds(kubeConfig, await testCrds());

    let stopped: Promise<void> | undefined;
    return {
      kubeconfigPath,
      kubeConfig,
      server,
      token,
      dir,
      restartApiServer: async () => {
        await processes.stop('kube-apiserver');
        await startApiServer();
      },
      stopApiServer: () => processes.stop('kube-apiserver'),
      startApiServer,
      stop: () => {
        stopped ??= processes.stopAll().finally(() => rm(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  } catch (error) {
    await processes.stopAll();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Runs the build script (seconds when cached); its progress goes to this process's stderr. */
async function buildBinaries(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', [BUILD_SCRIPT], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: KUBE_TEST_SERVER_START_TIMEOUT_MS,
    });
    const lines = stdout.trim().split('\n');
    const binDir = lines[lines.length - 1];
    if (binDir === undefined || binDir === '') throw new Error('the build script printed no directory');
    return binDir;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${BUILD_SCRIPT} failed: ${(error as Error).message}\n${tail(stderr)}`, { cause: error });
  }
}

/** Writes what kube-apiserver needs into `dir` and returns its arguments. */
async function prepareApiServer(options: {
  dir: string;
  etcdUrl: string;
  apiPort: number;
  token: string;
}): Promise<string[]> {
  const { dir, etcdUrl, apiPort, token } = options;
  // Service account tokens are signed with this pair (kube-apiserver requires one even when unused).
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const publicKeyFile = join(dir, 'sa.pub');
  const privateKeyFile = join(dir, 'sa.key');
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(publicKeyFile, publicKey);
  await writeFile(privateKeyFile, privateKey, { mode: 0o600 });
  await writeFile(tokenFile, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    // A self-signed serving certificate is generated here on first start and reused on a restart.
    `--cert-dir=${join(dir, 'certs')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${publicKeyFile}`,
    `--service-account-signing-key-file=${privateKeyFile}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    // No controller manager creates the default service accounts this plugin would require of Pods.
    '--disable-admission-plugins=ServiceAccount',
    // No Endpoints for the `kubernetes` Service: nothing here runs in a Pod.
    '--endpoint-reconciler-type=none',
    // On SIGTERM, close open watches after this grace instead of waiting for them (restartApiServer).
    '--shutdown-watch-termination-grace-period=2s',
  ];
}

/** GET /readyz with the token: 200 once every post-start hook (RBAC bootstrap, CRD informers) is done. */
function isReady(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5_000 },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Governor's CRDs and the permissive Istio ones, as parsed YAML documents. */
async function testCrds(): Promise<Record<string, unknown>[]> {
  const files = (await readdir(GOVERNOR_CRDS_DIR))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(GOVERNOR_CRDS_DIR, f));
  const crds: Record<string, unknown>[] = [];
  for (const file of [...files, ISTIO_TEST_CRDS]) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const value: unknown = doc.toJS();
      if (typeof value === 'object' && value !== null) crds.push(value as Record<string, unknown>);
    }
  }
  return crds;
}

interface CustomResourceDefinition {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Creates the CRDs and waits until each is Established (its objects can be created from then on). */
export async function installCrds(
  kubeConfig: KubeConfig,
  crds: readonly Record<string, unknown>[],
): Promise<void> {
  const api = KubernetesJsonApi.fromKubeConfig(kubeConfig);
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const names: string[] = [];
  for (const crd of crds) {
    try {
      const created = await api.send<CustomResourceDefinition>({ method: 'POST', path, body: crd });
      names.push(created.metadata.name);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      names.push((crd as unknown as CustomResourceDefinition).metadata.name);
    }
  }
  for (const name of names) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const crd = await api.send<CustomResourceDefinition>({ method: 'GET', path: `${path}/${name}` });
      const established = crd.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (established === true) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within 30 s`);
      await sleep(100);
    }
  }
}

/** The two processes, their logs (`<name>.log` in the temp dir) and a watchdog for each run. */
class ProcessGroup {
  private readonly running = new Map<string, ChildProcess>();
  private readonly watchdogs = new Map<string, ChildProcess>();

  constructor(private readonly dir: string) {}

  logOf(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  async start(name: string, binary: string, args: readonly string[]): Promise<void> {
    const log = openSync(this.logOf(name), 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    this.running.set(name, child);
    // Should this process die without stop(), the pipe closes, the shell's `read` returns, and it kills
    // the server and removes the temp dir. stop() tells it to exit quietly instead.
    const watchdog = spawn(
      'sh',
      [
        '-c',
        'read -r line; [ "$line" = stop ] || { kill -9 "$0"; rm -rf "$1"; } 2>/dev/null',
        String(child.pid),
        this.dir,
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    watchdog.unref();
    // The pipe is a net.Socket: unreferenced, it does not keep this process alive either.
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watchdogs.set(name, watchdog);
  }

  /** How the process ended, or undefined while it runs. */
  exited(name: string): string | undefined {
    const child = this.running.get(name);
    if (child === undefined || (child.exitCode === null && child.signalCode === null)) return undefined;
    return `${name} exited (${child.exitCode ?? child.signalCode})`;
  }

  async stop(name: string): Promise<void> {
    const child = this.running.get(name);
    this.running.delete(name);
    const watchdog = this.watchdogs.get(name);
    this.watchdogs.delete(name);
    if (child !== undefined) await terminate(child);
    watchdog?.stdin?.end('stop\n');
  }

  async stopAll(): Promise<void> {
    // The API server first: it would log etcd's disappearance at length otherwise.
    await this.stop('kube-apiserver');
    for (const name of [...this.running.keys()]) await this.stop(name);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Polls `ready` until it holds; fails early, with the log's tail, when the process exits. */
async function waitFor(
  name: string,
  processes: ProcessGroup,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = processes.exited(name);
    if (exited !== undefined)
      throw new Error(`${exited} while starting:\n${await logTail(processes.logOf(name))}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} was not ready within ${timeoutMs / 1000} s:\n${await logTail(processes.logOf(name))}`,
      );
    }
    await sleep(100);
  }
}

async function logTail(file: string): Promise<string> {
  return tail(await readFile(file, 'utf8').catch(() => `(no log at ${file})`));
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Ports the system hands out now, held together so they differ, then released for the servers. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<typeof server>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
