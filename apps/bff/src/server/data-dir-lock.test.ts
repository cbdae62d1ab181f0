import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { thrownBy } from '../../test/support/thrown';
import { DataDirLockedError, LOCK_FILE, lockDataDir, type LockHolder } from './data-dir-lock';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'governor-lock-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('lockDataDir', () => {
  it('refuses a second holder, naming the first and since when; free again after release', async () => {
    const since = new Date('2026-01-02T03:04:05.000Z');
    const lock = lockDataDir(directory, () => since);
    expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      since: since.toISOString(),
    });

    const refusal = thrownBy(() => lockDataDir(directory));
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    expect((refusal as Error).message).toContain(`process ${process.pid} on ${hostname()}`);
    expect((refusal as Error).message).toContain(since.toISOString());
    expect((refusal as Error).message).toContain(directory);

    lock.release();
    expect(await readdir(directory)).toEqual([]);
    const again = lockDataDir(directory);
    again.release();
  });

  it('takes over the lock of a process that is gone', async () => {
    const pid = deadPid();
    const stale: LockHolder = { pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(directory, LOCK_FILE), JSON.stringify(stale));

    const lock = lockDataDir(directory);
    expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toMatchObject({
      pid: process.pid,
    });
    // Nothing left beside it: the file moved aside and the private copy are gone.
    expect(await readdir(directory)).toEqual([LOCK_FILE]);
    lock.release();
  });

  it.runIf(process.platform === 'linux')(
    'takes over a lock whose pid now belongs to a process that started later (pid reuse)',
    async () => {
      const lock = lockDataDir(directory);
      const text = await readFile(join(directory, LOCK_FILE), 'utf8');
      const recorded = JSON.parse(text) as LockHolder;
      expect(recorded.processStart).toMatch(/^\d+$/);
      lock.release();
      // This very pid, but an earlier process: the one that held the lock before a container restart.
      const earlier = { ...recorded, processStart: String(Number(recorded.processStart) - 1) };
      await writeFile(join(directory, LOCK_FILE), JSON.stringify(earlier));

      const taken = lockDataDir(directory);
      expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toEqual(taken.holder);
      taken.release();
    },
  );

  it('never breaks a lock held from another machine', async () => {
    const remote: LockHolder = {
      pid: deadPid(),
      host: `not-${hostname()}`,
      since: '2026-01-01T00:00:00.000Z',
    };
    await writeFile(join(directory, LOCK_FILE), JSON.stringify(remote));
    expect(() => lockDataDir(directory)).toThrow(/another machine/);
    expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toEqual(remote);
  });

  it('release leaves alone a lock that another process has taken over', async () => {
    const lock = lockDataDir(directory);
    const other: LockHolder = { pid: process.pid, host: hostname(), since: 'later' };
    await writeFile(join(directory, LOCK_FILE), JSON.stringify(other));
    lock.release();
    expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toEqual(other);
  });

  it(
    'lets exactly one of two processes racing for the same stale lock take it',
    { timeout: 60_000 },
    async () => {
      const lockModule = pathToFileURL(join(import.meta.dirname, 'data-dir-lock.ts')).href;
      // Each waits for "go" on stdin, so that both try at the same moment; the winner holds on until told.
      const script = `
      import { lockDataDir } from ${JSON.stringify(lockModule)};
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => {
        let lock;
        try {
          lock = lockDataDir(process.env.DATA_DIR);
        } catch (error) {
          process.stdout.write('refused\\n');
          process.exit(0);
        }
        process.stdout.write('won\\n');
        process.stdin.once('data', () => { lock.release(); process.exit(0); });
      });
    `;
      for (let round = 0; round < 5; round++) {
        await writeFile(
          join(directory, LOCK_FILE),
          JSON.stringify({ pid: deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' }),
        );
        const children = [0, 1].map(() => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', '--input-type=module', '--eval', script],
            {
              cwd: join(import.meta.dirname, '..', '..'),
              env: { ...process.env, DATA_DIR: directory },
              stdio: ['pipe', 'pipe', 'inherit'],
            },
          );
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          return { child, output: () => output, exited: once(child, 'exit') };
        });
        await Promise.all(
          children.map(async (c) => {
            while (!c.output().includes('ready')) {
              if (c.child.exitCode !== null) throw new Error(`exited before it was ready: ${c.output()}`);
              await new Promise((r) => setTimeout(r, 10));
            }
          }),
        );
        for (const c of children) c.child.stdin.write('go\n');
        await Promise.all(
          children.map(async (c) => {
            while (!/won|refused/.test(c.output())) {
              if (c.child.exitCode !== null) throw new Error(`exited without an outcome: ${c.output()}`);
              await new Promise((r) => setTimeout(r, 10));
            }
          }),
        );
        const outcomes = children.map((c) => (c.output().includes('won') ? 'won' : 'refused')).sort();
        expect(outcomes).toEqual(['refused', 'won']);
        const winner = children.find((c) => c.output().includes('won'))!;
        expect(JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8'))).toMatchObject({
          pid: winner.child.pid,
        });
        winner.child.stdin.write('stop\n');
        await Promise.all(children.map((c) => c.exited));
        expect(await readdir(directory)).toEqual([]);
      }
    },
  );
});
