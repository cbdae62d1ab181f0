import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run, withBookinfo } from '../../../../test/support/cli';
import { fixturePath } from '../../../../test/support/fixtures';
import { TRACE_LIMITS } from '../replay/replay';

const tmp = mkdtempSync(join(tmpdir(), 'governor-replay-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const trace = (lines: object[]) => {
  const file = join(tmp, `trace-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  return file;
};

interface Output {
  decisions: {
    t: number;
    allowed: boolean;
    limiter: string | null;
    set: string | null;
    descriptor: string | null;
    remaining: number | null;
  }[];
  summary: { requests: number; allowed: number; limited: number };
}

describe('governor replay', () => {
  it('prints the decisions in input order with a summary', async () => {
    const file = trace(
      [0, 1, 2, 3, 4, 5, 6].map((t) => ({
        t,
        service: 'productpage',
        namespace: 'default',
        port: 9080,
        headers: { foo: 'bar' },
      })),
    );
    const r = await run(['replay', ...withBookinfo('doc-c-header-match.yaml'), '--trace', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Output;
    expect(out.decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(Object.keys(out.decisions[0] ?? {})).toEqual([
      't',
      'allowed',
      'limiter',
      'set',
      'descriptor',
      'remaining',
    ]);
    expect(out.decisions[4]).toMatchObject({ limiter: 'default/productpage', set: '_base', remaining: 0 });
    expect(out.summary).toMatchObject({ requests: 7, allowed: 5, limited: 2 });
  });

  it('prints a per-second table with -o table', async () => {
    const file = trace([0, 1500].map((t) => ({ t, service: 'reviews', namespace: 'default', port: 9080 })));
    const r = await run([
      'replay',
      ...withBookinfo('doc-a-single-inbound.yaml'),
      '--trace',
      file,
      '-o',
      'table',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^second\s+limiter\s+allowed\s+limited$/);
    expect(r.stdout).toMatch(/^1\s+default\/reviews\s+1\s+0$/m);
  });

  it('exits 1 and names the trace line of a bad request', async () => {
    const file = trace([
      { t: 0, service: 'reviews', port: 9080 },
      { t: 1, port: 9080 },
    ]);
    const r = await run(['replay', ...withBookinfo('doc-a-single-inbound.yaml'), '--trace', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2: service: required`);
  });

  it('refuses a trace over the size a replay reads, before reading it', async () => {
    const file = join(tmp, 'huge.jsonl');
    writeFileSync(file, ' '.repeat(TRACE_LIMITS.bytes + 1));
    const r = await run(['replay', ...withBookinfo('doc-a-single-inbound.yaml'), '--trace', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${file}: the trace is ${TRACE_LIMITS.bytes + 1} bytes; a replay reads at most ${TRACE_LIMITS.bytes} (split it)\n`,
    );
    expect(r.stdout).toBe('');
  });

  it('stops at its time limit with the requests decided so far, and says so', async () => {
    const file = trace(
      Array.from({ length: 2_000 }, (_, t) => ({ t, service: 'reviews', namespace: 'default', port: 9080 })),
    );
    const args = ['replay', ...withBookinfo('doc-a-single-inbound.yaml'), '--trace', file];
    // No time at all: it stops at its first look at the clock.
    const r = await run([...args, '--time-limit', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: ${file}: stopped at the time limit \\(0 s\\) after \\d+ of 2000 requests; the output covers those \\(--time-limit\\)\\n$`,
      ),
    );
    const decided = Number(/after (\d+) of/.exec(r.stderr)?.[1]);
    expect(decided).toBeLessThan(2_000);
    expect((JSON.parse(r.stdout) as Output).summary.requests).toBe(decided);
    const whole = await run([...args, '--time-limit', '600']);
    expect(whole.code).toBe(0);
    expect((JSON.parse(whole.stdout) as Output).summary.requests).toBe(2_000);
    expect((await run([...args, '--time-limit', 'soon'])).code).toBe(2);
  });

  it('needs a trace', async () => {
    const r = await run(['replay', '-f', 'doc-a-single-inbound.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--trace');
  });

  it('works as `pnpm -s governor replay` from the repository root', async () => {
    const file = trace([{ t: 0, service: 'reviews', namespace: 'default', port: 9080 }]);
    const { stdout } = await promisify(execFile)(
      'pnpm',
      [
        '-s',
        'governor',
        'replay',
        '-f',
        fixturePath('doc-e-global.yaml'),
        '-f',
        fixturePath('context-bookinfo.yaml'),
        '--trace',
        file,
        '-o',
        'json',
      ],
      { cwd: resolve(import.meta.dirname, '..', '..', '..', '..') },
    );
    expect((JSON.parse(stdout) as Output).summary.requests).toBe(1);
  }, 60_000);
});
