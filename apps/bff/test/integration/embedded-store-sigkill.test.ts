/**
 * The embedded store killed with SIGKILL in the middle of its saves, in a child process: on reopening,
 * the file parses and holds a consistent prefix of the writes, including every acknowledged one.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import { envoyFilter } from '../support/store-contract';

const BFF_DIR = join(import.meta.dirname, '..', '..');

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'governor-embedded-store-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

it(
  'survives SIGKILL at a random moment: the file parses and holds a consistent prefix of the writes',
  { timeout: 60_000 },
  async () => {
    for (let round = 0; round < 3; round++) {
      const file = join(directory, `kill-${round}`, 'store.json');
      const { flushed, exitSignal, stderr } = await writeUntilKilled(file, randomInt(5, 40));
      expect(exitSignal, stderr).toBe('SIGKILL');

      const store = await EmbeddedStore.open({ file });
      try {
        const { items, resourceVersion } = await store.list('EnvoyFilter', 'kill');
        const indices = items.map((o) => (o.spec as { index: number }).index).sort((x, y) => x - y);
        // A prefix: writes 0 … n-1, each once, and at least every write the child saw acknowledged.
        expect(indices).toEqual(indices.map((_, i) => i));
        expect(indices.length).toBeGreaterThanOrEqual(flushed);
        const byIndex = [...items].sort(
          (x, y) => (x.spec as { index: number }).index - (y.spec as { index: number }).index,
        );
        const versions = byIndex.map((o) => Number(o.metadata.resourceVersion));
        expect(versions).toEqual([...versions].sort((x, y) => x - y));
        expect(new Set(versions).size).toBe(versions.length);
        expect(Math.max(0, ...versions)).toBeLessThanOrEqual(Number(resourceVersion));

        const next = await store.create(envoyFilter('kill', 'after-restart', 'one'));
        expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(resourceVersion));
        expect((await readdir(dirname(file))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      } finally {
        await store.close();
      }
    }
  },
);

/**
 * Runs a child process that creates EnvoyFilters `w-0`, `w-1`, … one after another (reporting each write
 * once acknowledged), and kills it with SIGKILL once it has reported `killAfterFlushes` of them.
 */
async function writeUntilKilled(
  file: string,
  killAfterFlushes: number,
): Promise<{ flushed: number; exitSignal: NodeJS.Signals | null; stderr: string }> {
  const storeModule = pathToFileURL(join(BFF_DIR, 'src', 'cluster', 'embedded-store.ts')).href;
  const script = `
    import { EmbeddedStore } from ${JSON.stringify(storeModule)};
    const store = await EmbeddedStore.open({ file: process.env.STORE_FILE });
    const padding = 'x'.repeat(2048);
    for (let index = 0; ; index++) {
      await store.create({
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'EnvoyFilter',
        metadata: { name: 'w-' + index, namespace: 'kill', annotations: { padding } },
        spec: { index },
      });
      // Acknowledged: the write's promise has resolved.
      process.stdout.write('saved ' + (index + 1) + '\\n');
    }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: BFF_DIR,
    env: { ...process.env, STORE_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let flushed = 0;
  let saves = 0;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^saved (\d+)$/.exec(line);
      if (match === null) continue;
      flushed = Number(match[1]);
      saves += 1;
      // Then a random moment later: most likely in the middle of the next save.
      if (saves === killAfterFlushes) setTimeout(() => child.kill('SIGKILL'), randomInt(0, 15));
    }
  });
  const [, exitSignal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { flushed, exitSignal, stderr };
}
