/**
 * The rate-limit service under attack: `governor rls` runs as its own process, with its default limits,
 * and each attack (test/support/rls-attacker.ts, another process) goes at it over loopback for a few
 * seconds and stops by itself. Meanwhile a client on a connection of its own makes ordinary
 * ShouldRateLimit calls. An attack is survived when the service's resident memory grows by at most
 * 64 MB, the median of those calls is answered within 100 ms (the median, so that one scheduling hiccup
 * on a busy machine does not decide), and the service still answers afterwards. h2spec, the HTTP/2
 * conformance suite, must find no more failures in the service than in a bare node:http2 server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rlsClientConstructor } from '../../src/rls/rls-server';

const bffDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(bffDir, '../..');
const MAX_GROWTH_MB = 64;
const MAX_MEDIAN_MS = 100;

const policy = fileURLToPath(new URL('../support/unlimited-global-policy.yaml', import.meta.url));

type Answer = { overall_code: string };
type Call = (
  req: unknown,
  options: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: Answer) => void,
) => void;

let child: ChildProcess;
let port: number;
let probeClient: grpc.Client & { ShouldRateLimit: Call };
const probeRequest = {
  domain: 'governor',
  descriptors: [{ entries: [{ key: 'generic_key', value: 'probe' }] }],
};

beforeAll(async () => {
  child = spawn(process.execPath, ['bin/governor.mjs', 'rls', '-f', policy, '--port', '0'], {
    cwd: bffDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`governor rls exited (${code}): ${out}`)));
  });
  const Client = rlsClientConstructor();
  probeClient = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as typeof probeClient;
  // Warm up: the connection, and the code paths a call takes.
  for (let i = 0; i < 200; i++) await probe();
}, 60_000);

afterAll(async () => {
  probeClient?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

/** One ordinary call; resolves with its time in ms (rejects on failure or after 2 s). */
function probe(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    probeClient.ShouldRateLimit(probeRequest, { deadline: Date.now() + 2000 }, (e, r) =>
      e
        ? reject(e)
        : r.overall_code === 'OK'
          ? resolve(performance.now() - started)
          : reject(new Error(r.overall_code)),
    ),
  );
}

/** The service's resident memory in MB (VmRSS). */
function rssMb(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)![1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Runs `attack` while sampling the service's memory every 100 ms and probing it every 150 ms, then checks
 * that it survived: still running, at most 64 MB more memory at any point, the probes' median within
 * 100 ms, and a call answered after the attack.
 */
async function survives<T>(attack: () => Promise<T>): Promise<T> {
  const before = rssMb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 100);
  const probes: number[] = [];
  let attacking = true;
  const probing = (async () => {
    while (attacking) {
      probes.push(await probe().catch(() => Infinity));
      await sleep(150);
    }
  })();
  let result: T;
  try {
    result = await attack();
  } finally {
    attacking = false;
    await probing;
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssMb());
  const summary = `rss ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MB; ${probes.length} probes, median ${median(probes).toFixed(1)} ms, max ${Math.max(...probes).toFixed(1)} ms`;
  console.log(summary);
  expect(child.exitCode, 'the service is still running').toBeNull();
  expect(peak - before, summary).toBeLessThanOrEqual(MAX_GROWTH_MB);
  expect(probes.length, summary).toBeGreaterThanOrEqual(5);
  expect(median(probes), summary).toBeLessThanOrEqual(MAX_MEDIAN_MS);
  expect(await probe()).toBeLessThan(2000);
  return result;
}

interface AttackReport {
  attack: string;
  ms: number;
  connections: number;
  closedByServer: number;
  goaway: Record<string, number>;
  bytesSent: number;
  framesReceived: number;
  statuses: Record<string, number>;
  stillOpenAtEnd?: number;
}

/** Runs one attack of the attacker for `ms` and resolves with its report. */
function attack(name: string, ms: number): Promise<AttackReport> {
  return new Promise((resolve, reject) => {
    const attacker = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/rls-attacker.ts', name, String(port), String(ms)],
      { cwd: bffDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    attacker.stdout.on('data', (d: Buffer) => (out += d.toString()));
    attacker.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // It stops by itself; this is only in case it does not.
    const guard = setTimeout(() => attacker.kill('SIGKILL'), ms + 20_000);
    attacker.once('exit', (code) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`rls-attacker ${name} exited ${code}: ${err}`));
      const report = JSON.parse(out.trim().split('\n').at(-1)!) as AttackReport;
      console.log(JSON.stringify(report));
      resolve(report);
    });
  });
}

/** h2spec's failed cases, as `group section/number: description`, and its summary counts. */
function h2specFailures(output: string): { tests: number; failed: number; cases: string[] } {
  const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(output);
  expect(summary, output).not.toBeNull();
  const cases: string[] = [];
  let group = '';
  let section = '';
  const at = output.indexOf('Failures:');
  for (const line of at < 0 ? [] : output.slice(at).split('\n')) {
    if (/^Generic tests/.test(line)) group = 'generic';
    else if (/^Hypertext Transfer Protocol/.test(line)) group = 'http2';
    else if (/^HPACK/.test(line)) group = 'hpack';
    const heading = /^\s+(\d+(?:\.\d+)*)\.\s/.exec(line);
    if (heading) section = heading[1]!;
    const failure = /×\s+(\d+):\s+(.*)$/.exec(line);
    if (failure) cases.push(`${group} ${section}/${failure[1]}: ${failure[2]!.trim()}`);
  }
  return { tests: Number(summary![1]), failed: Number(summary![4]), cases };
}

/** Runs h2spec against a port: every case, or those named (`http2/5.1/6`). */
function runH2spec(binary: string, targetPort: number, only: readonly string[] = []): Promise<string> {
  return new Promise((resolve) => {
    const run = spawn(binary, ['-h', '127.0.0.1', '-p', String(targetPort), '-o', '2', ...only], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    run.stdout.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => run.kill('SIGKILL'), 120_000);
    run.once('exit', () => {
      clearTimeout(guard);
      resolve(out);
    });
  });
}

describe('the rate-limit service under attack', () => {
  it('h2spec finds no more failures in it than in a bare node:http2 server', async () => {
    const built = spawnSync('bash', [join(repoRoot, 'scripts/test-cluster/build-h2spec.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    });
    expect(built.status, 'building h2spec').toBe(0);
    const h2spec = built.stdout.trim().split('\n').at(-1)!;
    // The bare server answers every request once it has read it, as h2spec expects of a server.
    const bare = http2.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const bareSessions = new Set<http2.ServerHttp2Session>();
    bare.on('session', (session) => {
      bareSessions.add(session);
      session.once('close', () => bareSessions.delete(session));
    });
    const barePort = await new Promise<number>((resolve) =>
      bare.listen(0, '127.0.0.1', () => resolve((bare.address() as { port: number }).port)),
    );
    try {
      const [service, node] = await survives(() =>
        Promise.all([runH2spec(h2spec, port), runH2spec(h2spec, barePort)]),
      );
      const ours = h2specFailures(service);
      const theirs = h2specFailures(node);
      console.log(`h2spec: the service fails ${ours.failed} of ${ours.tests}:\n  ${ours.cases.join('\n  ')}`);
      console.log(
        `h2spec: bare node:http2 fails ${theirs.failed} of ${theirs.tests}:\n  ${theirs.cases.join('\n  ')}`,
      );
      expect(ours.tests).toBe(145);
      expect(ours.cases).toHaveLength(ours.failed);
      // A case can fail by timing alone: when an answer has closed its stream before nghttp2 reads the
      // peer's next frame on it, that frame is taken as one on a closed stream (5.1/12, which nghttp2
      // fails) rather than on a half-closed one (5.1/6). So a case that failed here and not there is run
      // again alone: it must pass at least once, or it is a failure of the service's own.
      let failed = ours.failed;
      for (const c of ours.cases.filter((c) => !theirs.cases.includes(c))) {
        const id = c.replace(/^(\S+) (\S+):.*$/, '$1/$2');
        let passed = false;
        for (let i = 0; i < 5 && !passed; i++)
          passed = h2specFailures(await runH2spec(h2spec, port, [id])).failed === 0;
        console.log(`h2spec: ${c}: ${passed ? 'passes when run alone' : 'fails on every run'}`);
        expect(passed, `${c} fails on every run`).toBe(true);
        failed--;
      }
      // What fails is nghttp2's own behaviour, failing alike without the service around it.
      expect(failed).toBeLessThanOrEqual(theirs.failed);
    } finally {
      const closed = new Promise((r) => bare.close(r));
      for (const session of bareSessions) session.destroy();
      await closed;
    }
  }, 700_000);

  it('CONTINUATION flood: every connection is cut off', async () => {
    const r = await survives(() => attack('continuation', 3000));
    expect(r.connections).toBeGreaterThan(1);
    expect(r.closedByServer).toBeGreaterThanOrEqual(r.connections - 1);
  }, 60_000);

  it('rapid reset (HEADERS then RST_STREAM, stream after stream): the connection is sent GOAWAY', async () => {
    const r = await survives(() => attack('rapidReset', 3000));
    expect(Object.values(r.goaway).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('PING flood, answers read or not: connections are cut off', async () => {
    const r = await survives(() => attack('ping', 3000));
    expect(r.closedByServer).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('SETTINGS flood on a connection with calls open: connections are cut off', async () => {
    const r = await survives(() => attack('settings', 3000));
    expect(r.closedByServer).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('large bodies (64 MB on a stream, within flow control and beyond it): refused past 64 KiB', async () => {
    const r = await survives(() => attack('largeBody', 3000));
    expect(r.statuses['8']).toBeGreaterThanOrEqual(1);
    expect(r.statuses['0']).toBeUndefined();
  }, 60_000);

  it('many bodies (100 streams of 4 MiB on one connection): none taken', async () => {
    const r = await survives(() => attack('manyBodies', 3000));
    expect(r.bytesSent).toBeGreaterThan(10 * 1024 * 1024);
    expect(r.statuses['0']).toBeUndefined();
  }, 60_000);

  it('descriptor amplification (64 KiB and 4 MB of empty descriptors): refused, not decoded', async () => {
    const r = await survives(() => attack('descriptors', 3000));
    expect(r.statuses['3']).toBeGreaterThanOrEqual(1);
    expect(r.statuses['8']).toBeGreaterThanOrEqual(1);
    expect(r.statuses['0']).toBeUndefined();
  }, 60_000);

  it('unique descriptor values, call after call: all answered', async () => {
    const r = await survives(() => attack('uniqueValues', 3000));
    expect(r.statuses['0']).toBeGreaterThan(1000);
  }, 60_000);

  it('thousands of idle connections and hundreds of slow ones (slowloris): capped, then closed by the server', async () => {
    const r = await survives(() => attack('connections', 15_000));
    expect(r.connections).toBe(2800);
    // Beyond the cap at once, the rest once the first call has not come in time.
    expect(r.stillOpenAtEnd).toBe(0);
    expect(r.closedByServer).toBe(r.connections);
  }, 60_000);
});
