/**
 * The BFF as `./scripts/start` runs it (`src/main.ts` through tsx), killed with SIGKILL right after it
 * acknowledged a series of policy changes: after a restart on the same data directory every acknowledged
 * change is in the store and in the audit log. Also the data directory's lock: a second BFF refuses to
 * start, naming the holder, and a BFF killed with SIGKILL does not keep its successor out.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import { LOCK_FILE } from '../../src/server/data-dir-lock';
import { AuditLog } from '../../src/audit/audit-log';
// The store the BFF wrote holds every module's kinds (the demo's plugins among them): know them all.
import '../../src/modules';

const BFF_DIR = join(import.meta.dirname, '..', '..');
const STARTUP_MS = 60_000;

interface RunningBff {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<RunningBff>();
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-crash-'));
});

afterEach(async () => {
  for (const bff of running) {
    if (bff.child.exitCode === null && bff.child.signalCode === null) bff.child.kill('SIGKILL');
    await bff.exited;
  }
  running.clear();
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts a BFF on `dataDir`: embedded mode, a free loopback port, no rate-limit service. */
function startBff(): RunningBff {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Nothing from the caller's environment may point this BFF at a cluster, a Prometheus or a Redis.
    if (/^(GOVERNOR_|BFF_|KUBECONFIG$|PROMETHEUS_URL$|REDIS_URL$)/.test(key)) continue;
    env[key] = value;
  }
  Object.assign(env, {
    GOVERNOR_DATA_DIR: dataDir,
    BFF_HOST: '127.0.0.1',
    BFF_PORT: '0',
    GOVERNOR_RLS_PORT: 'off',
    GOVERNOR_XDS_PORT: 'off',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: BFF_DIR, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const bff = { child, output: () => output, exited };
  running.add(bff);
  return bff;
}

/** Waits until the BFF listens; returns its URL. */
async function listening(bff: RunningBff): Promise<string> {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    const match = /governor bff listening on (http:\/\/\S+)/.exec(bff.output());
    if (match?.[1] !== undefined) return match[1];
    if (bff.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the BFF did not start:\n${bff.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const adminTokenOf = (bff: RunningBff): string => {
  const token = /created the admin token[^\n]*\n\n\s+(\S+)/.exec(bff.output())?.[1];
  if (token === undefined) throw new Error(`no admin token in:\n${bff.output()}`);
  return token;
};

async function trpc<T>(
  url: string,
  token: string,
  path: string,
  input: unknown,
  mutation: boolean,
): Promise<T> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const response = mutation
    ? await fetch(`${url}/trpc/${path}`, { method: 'POST', headers, body: JSON.stringify(input) })
    : await fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
  const body = (await response.json()) as { result?: { data: T }; error?: unknown };
  if (!response.ok || body.result === undefined) {
    throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body.error)}`);
  }
  return body.result.data;
}

/** A SmartLimiter of its own for each write, so that every one of them can be looked for afterwards. */
const limiterYaml = (i: number): string => `
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: { name: crash-${i}, namespace: default }
spec:
  workloadSelector: { app: details }
  sets:
    _base:
      descriptor:
        - action: { fill_interval: { seconds: 1 }, quota: '${i + 1}', strategy: single }
          condition: 'true'
          target: { port: 9080 }
`;

const quotaOf = (yaml: string): string | undefined => /quota: ["']?(\d+)/.exec(yaml)?.[1];

describe('the BFF killed with SIGKILL', () => {
  it(
    'keeps every acknowledged policy change in the store and the audit log; its successor takes the lock',
    { timeout: 4 * STARTUP_MS },
    async () => {
      const WRITES = 12;
      const first = startBff();
      const url = await listening(first);
      const token = adminTokenOf(first);

      const acknowledged: { name: string; auditId: number }[] = [];
      for (let i = 0; i < WRITES; i++) {
        const { auditId } = await trpc<{ auditId: number }>(
          url,
          token,
          'policies.applyPolicy',
          { yaml: limiterYaml(i) },
          true,
        );
        acknowledged.push({ name: `crash-${i}`, auditId });
      }
      // No grace at all: the answer to the last write has just arrived.
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);

      // The lock of the killed BFF is stale: a new one starts on the same directory.
      const second = startBff();
      const url2 = await listening(second);
      expect(second.output()).not.toContain('created the admin token');
      for (const [i, { name }] of acknowledged.entries()) {
        const policy = await trpc<{ yaml: string }>(
          url2,
          token,
          'policies.get',
          { namespace: 'default', name },
          false,
        );
        expect(quotaOf(policy.yaml), name).toBe(String(i + 1));
      }
      const audit = await trpc<{ id: number; action: string; name?: string }[]>(
        url2,
        token,
        'audit.list',
        { namespace: 'default', limit: 500 },
        false,
      );
      const applies = audit.filter((r) => r.action === 'apply' && r.name?.startsWith('crash-'));
      expect(applies.map((r) => ({ name: r.name, auditId: r.id })).reverse()).toEqual(acknowledged);
      const ids = audit.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);

      // Ids go on increasing after the restart.
      const { auditId: next } = await trpc<{ auditId: number }>(
        url2,
        token,
        'policies.applyPolicy',
        { yaml: limiterYaml(WRITES) },
        true,
      );
      expect(next).toBeGreaterThan(Math.max(...acknowledged.map((a) => a.auditId)));

      // A clean stop saves everything, closes the log and gives the directory back.
      second.child.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

      // The files themselves, read as the next start would.
      const store = await EmbeddedStore.open({ file: join(dataDir, 'store.json') });
      try {
        for (let i = 0; i <= WRITES; i++) {
          expect(await store.get('SmartLimiter', 'default', `crash-${i}`), `crash-${i}`).not.toBeNull();
        }
      } finally {
        await store.close();
      }
      const log = new AuditLog(join(dataDir, 'audit.jsonl'));
      const records = log.list({ limit: 10_000 });
      await log.close();
      expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
      expect(records.filter((r) => r.action === 'apply').map((r) => r.id)).toEqual(
        [...acknowledged.map((a) => a.auditId), next].reverse(),
      );
    },
  );

  it(
    'a second BFF on the same data directory refuses to start and says who holds it',
    { timeout: 3 * STARTUP_MS },
    async () => {
      const holder = startBff();
      await listening(holder);

      const second = startBff();
      const { code } = await second.exited;
      expect(code).toBe(1);
      expect(second.output()).toContain(`the data directory ${dataDir} is in use by another Governor BFF`);
      expect(second.output()).toMatch(
        new RegExp(`process ${holder.child.pid} on \\S+, since \\d{4}-\\d\\d-\\d\\dT`),
      );
      // It opened nothing: the holder goes on.
      expect(holder.child.exitCode).toBeNull();
      await listening(holder);

      holder.child.kill('SIGTERM');
      expect(await holder.exited).toEqual({ code: 0, signal: null });
      const third = startBff();
      await listening(third);
      third.child.kill('SIGTERM');
      expect(await third.exited).toEqual({ code: 0, signal: null });
    },
  );
});
