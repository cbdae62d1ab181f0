#!/usr/bin/env node
// Runs benchmark groups: `pnpm -s bench [group...]` (no group: all of them).
//
// A group is a `<group>.bench.ts` file anywhere in the workspace (outside node_modules), so adding one
// is adding a file. Each runs in its own Node process through tsx, from its package's directory, and
// prints `name: value` lines. A file may ask for Node options on a line of its own:
//   // bench-node-options: --expose-gc
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set([
  'node_modules',
  '.git',
  '.next',
  'dist',
  'coverage',
  'test-results',
  'playwright-report',
]);
const SUFFIX = '.bench.ts';

/** @returns {string[]} */
function findBenchFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findBenchFiles(path));
    else if (entry.isFile() && entry.name.endsWith(SUFFIX)) found.push(path);
  }
  return found;
}

/** The nearest directory holding a package.json: the bench runs there, with that package's tsx. */
function packageDir(file) {
  let dir = dirname(file);
  while (dir !== root && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function nodeOptions(file) {
  const match = /^\/\/ bench-node-options:(.*)$/m.exec(readFileSync(file, 'utf8'));
  return match ? match[1].trim().split(/\s+/).filter(Boolean) : [];
}

const groups = new Map(findBenchFiles(root).map((file) => [basename(file, SUFFIX), file]));
const wanted = process.argv.slice(2);
const unknown = wanted.filter((g) => !groups.has(g));
if (unknown.length > 0) {
  console.error(
    `unknown bench group(s): ${unknown.join(', ')}; known: ${[...groups.keys()].sort().join(', ') || 'none'}`,
  );
  process.exit(2);
}

let failed = false;
for (const group of wanted.length > 0 ? wanted : [...groups.keys()].sort()) {
  const file = groups.get(group);
  const cwd = packageDir(file);
  if (wanted.length !== 1) console.log(`# ${group} (${relative(root, file)})`);
  const result = spawnSync(process.execPath, [...nodeOptions(file), '--import', 'tsx', relative(cwd, file)], {
    cwd,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error(`bench group ${group} failed (${result.signal ?? `exit ${result.status}`})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
