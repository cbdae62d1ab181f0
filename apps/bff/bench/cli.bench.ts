/**
 * `pnpm -s bench cli`: how long a `governor` command takes, the whole process on the wall clock, as a user
 * waits for it. Builds dist/ first (scripts/build.mjs), then `node dist/governor.mjs render` of a Slime
 * SmartLimiter with Bookinfo's objects as context: `cli_render_ms`, the median of 10 runs (target ≤ 300);
 * `cli_help_ms` for `--help` (start-up alone), median of 10; and, for comparison, the same render through
 * tsx (`bin/governor.mjs`, compiling TypeScript at run time): `cli_render_tsx_ms`, median of 3.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { slimeFixturesDir } from '@governor/crd-types/testing';

const bffDir = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${bffDir}dist/governor.mjs`;
const tsx = `${bffDir}bin/governor.mjs`;
const RENDER = ['render', '-f', 'doc-a-single-inbound.yaml', '-f', 'context-bookinfo.yaml'];

const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: bffDir, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`the build failed:\n${built.stdout}${built.stderr}`);

// No loader of this process's (tsx) may reach the compiled CLI; INIT_CWD (pnpm's) would redirect the tsx
// CLI's relative paths.
const env = { ...process.env };
delete env.NODE_OPTIONS;
delete env.INIT_CWD;

/** One run's wall time in ms; a failed run fails the benchmark. */
function timed(file: string, args: readonly string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [file, ...args], { cwd: slimeFixturesDir, encoding: 'utf8', env });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return ms;
}

function median(file: string, args: readonly string[], runs: number): number {
  timed(file, args); // a first run warms the file cache
  const times = Array.from({ length: runs }, () => timed(file, args)).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

console.log(`cli_render_ms: ${median(compiled, RENDER, 10).toFixed(0)}`);
console.log(`cli_help_ms: ${median(compiled, ['--help'], 10).toFixed(0)}`);
console.log(`cli_render_tsx_ms: ${median(tsx, RENDER, 3).toFixed(0)}`);
