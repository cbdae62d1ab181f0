/**
 * The compiled build (`scripts/build.mjs`) run by plain `node`, with no TypeScript loader: built into a
 * temporary directory with the package's node_modules beside it, as an installed product has its
 * dependencies. The CLI prints what the tsx CLI prints; the BFF starts on its embedded default, answers
 * `/api/health`, reads Envoy's protos (the filter catalog) and Governor's own (a MetaProtocol route over
 * xDS), and stops on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_TYPE_URL } from '../../src/envoy/metaprotocol-route';
import { slimeFixturesDir } from '../support/fixtures';
import { openStream, xdsClient } from '../support/xds-client';

const BFF_DIR = join(import.meta.dirname, '..', '..');
const BUILD_MS = 120_000;
const STARTUP_MS = 60_000;

/** This environment less what could load TypeScript or point the BFF at a cluster, Prometheus or Redis. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(NODE_OPTIONS$|GOVERNOR_|BFF_|KUBECONFIG$|PROMETHEUS_URL$|REDIS_URL$|INIT_CWD$)/.test(key))
      continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

let dir: string;
let dist: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'governor-build-'));
  dist = join(dir, 'dist');
  const built = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', dist], {
    cwd: BFF_DIR,
    encoding: 'utf8',
    env: plainEnv(),
  });
  expect(built.status, built.stderr).toBe(0);
  symlinkSync(join(BFF_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
}, BUILD_MS);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `node FILE ARGS...` in Slime's fixtures directory, with no loader flags. */
const run = (file: string, args: readonly string[]) =>
  spawnSync(process.execPath, [file, ...args], { cwd: slimeFixturesDir, encoding: 'utf8', env: plainEnv() });

describe('the compiled CLI', () => {
  it('writes its bundle, source map and assets', () => {
    for (const f of [
      'governor.mjs',
      'governor.mjs.map',
      'bff.mjs',
      'bff.mjs.map',
      'assets/src/demo/bookinfo.yaml',
    ])
      expect(existsSync(join(dist, f)), f).toBe(true);
    expect(
      existsSync(join(dist, 'assets/proto/aeraki/meta_protocol_proxy/v1alpha/meta_protocol_proxy.proto')),
    ).toBe(true);
  });

  it('governor --help exits 0', () => {
    const r = run(join(dist, 'governor.mjs'), ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: governor <command>');
  });

  it('governor render prints what the tsx CLI prints', () => {
    const args = ['render', '-f', 'doc-e-global.yaml', '-f', 'context-bookinfo.yaml'];
    const compiled = run(join(dist, 'governor.mjs'), args);
    const tsx = run(join(BFF_DIR, 'bin/governor.mjs'), args);
    expect(compiled.status, compiled.stderr).toBe(0);
    expect(tsx.status, tsx.stderr).toBe(0);
    expect(compiled.stdout).toContain('kind: EnvoyFilter');
    expect(compiled.stdout).toBe(tsx.stdout);
    expect(compiled.stderr).toBe(tsx.stderr);
  }, 30_000);
});

describe('the compiled BFF', () => {
  let bff: ChildProcessWithoutNullStreams | undefined;
  let output = '';
  const clients: grpc.Client[] = [];

  afterAll(async () => {
    clients.forEach((c) => c.close());
    if (bff && bff.exitCode === null && bff.signalCode === null) {
      const exited = new Promise((resolve) => bff!.once('exit', resolve));
      bff.kill('SIGKILL');
      await exited;
    }
  });

  async function waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    const deadline = Date.now() + STARTUP_MS;
    for (;;) {
      const match = pattern.exec(output);
      if (match) return match;
      if (bff!.exitCode !== null || Date.now() > deadline)
        throw new Error(`the BFF did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it(
    'starts on the embedded default, answers, serves protos and stops on SIGTERM',
    async () => {
      const dataDir = join(dir, 'data');
      bff = spawn(process.execPath, [join(dist, 'bff.mjs')], {
        cwd: dir,
        env: plainEnv({
          GOVERNOR_DATA_DIR: dataDir,
          BFF_HOST: '127.0.0.1',
          BFF_PORT: '0',
          GOVERNOR_RLS_PORT: '0',
          GOVERNOR_XDS_PORT: '0',
          GOVERNOR_ACCESSLOG_PORT: 'off',
        }),
      });
      bff.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      bff.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const url = (await waitFor(/governor bff listening on (http:\/\/\S+)/))[1]!;
      const xdsPort = Number((await waitFor(/route server \(xDS RDS gRPC\) on 127\.0\.0\.1:(\d+)/))[1]);
      const token = (await waitFor(/created the admin token[^\n]*\n\n\s+(\S+)/))[1]!;

      const health = await fetch(`${url}/api/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ store: expect.stringContaining(dataDir) });

      // Envoy's protos, read from @grpc/grpc-js-xds at run time.
      const filters = await fetch(`${url}/trpc/envoy.filters`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await filters.json()) as { result: { data: { filters: { name: string }[] } } };
      expect(body.result.data.filters.map((f) => f.name)).toContain('envoy.filters.http.fault');

      // Governor's MetaProtocol protos, shipped beside the bundle: the demo's route over xDS.
      const stream = openStream<{ resources: unknown[] }>(
        xdsClient(xdsPort, 'ads', clients),
        'StreamAggregatedResources',
      );
      stream.send({
        node: { id: 'sidecar~10.0.0.9~client.default~default.svc.cluster.local', cluster: 'client.default' },
        type_url: ROUTE_TYPE_URL,
        resource_names: ['rating-rpc.default.svc.cluster.local_9090'],
      });
      expect((await stream.next(10_000)).resources).toHaveLength(1);
      clients.forEach((c) => c.close());

      const exited = new Promise<number | null>((resolve) => bff!.once('exit', resolve));
      bff.kill('SIGTERM');
      expect(await exited).toBe(0);
    },
    STARTUP_MS + 30_000,
  );
});
