#!/usr/bin/env node
// `node scripts/build-images-modules.mjs FROM TO`: copies into TO (a new node_modules) the packages the
// compiled BFF loads from node_modules at run time (EXTERNAL in apps/bff/scripts/build.mjs) and everything
// they depend on, out of FROM, the node_modules of a production install (`pnpm deploy --prod`). The rest
// of that install (tsx, esbuild, TypeScript, the packages bundled into bff.mjs) stays out of the image.
// pnpm's layout makes the closure exact: a package's dependencies are the links beside it in
// .pnpm/<key>/node_modules, and nothing else is visible to it but .pnpm/node_modules (hoisted links).
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  readlinkSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const [from, to] = process.argv.slice(2).map((p) => resolve(p));
if (!from || !to) {
  console.error('usage: build-images-modules.mjs FROM_NODE_MODULES TO_NODE_MODULES');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildScript = readFileSync(join(root, 'apps/bff/scripts/build.mjs'), 'utf8');
const list = /const EXTERNAL = \[([^\]]*)\]/.exec(buildScript)?.[1];
const externals = [...(list ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]).filter((n) => !n.includes('*'));
if (externals.length === 0) {
  console.error('found no EXTERNAL list in apps/bff/scripts/build.mjs');
  process.exit(1);
}

const store = join(from, '.pnpm');
/** The .pnpm/<key> folder a package's real path lies in. */
const keyOf = (real) => {
  const rel = relative(store, real);
  if (rel.startsWith('..')) throw new Error(`${real} is not in ${store}`);
  return rel.split(sep)[0];
};
/** The package links in a node_modules folder (scoped ones included). */
function* links(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@') && !lstatSync(path).isSymbolicLink()) {
      for (const inner of readdirSync(path)) yield join(path, inner);
    } else yield path;
  }
}

const keep = new Set();
const pending = externals.map((name) => {
  const link = join(from, name);
  if (!existsSync(link)) throw new Error(`${name} is not installed in ${from}`);
  return keyOf(realpathSync(link));
});
while (pending.length > 0) {
  const key = pending.pop();
  if (keep.has(key)) continue;
  keep.add(key);
  for (const dep of links(join(store, key, 'node_modules'))) {
    const real = realpathSync(dep);
    if (real.startsWith(store + sep)) pending.push(keyOf(real));
  }
}

mkdirSync(join(to, '.pnpm'), { recursive: true });
// Type declarations, TypeScript sources, source maps and read-mes: nothing Node loads (about half the size).
const unused = /(\.d\.[cm]?ts|\.ts|\.map|(^|\/)(readme|changelog|history)(\.\w+)?)$/i;
for (const key of keep)
  cpSync(join(store, key), join(to, '.pnpm', key), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => !unused.test(source) || lstatSync(source).isDirectory(),
  });
/** Copies the link at FROM/<rel> when it points at a kept package. */
const copyLink = (path) => {
  const target = realpathSync(path);
  if (!keep.has(keyOf(target))) return;
  const dest = join(to, relative(from, path));
  mkdirSync(dirname(dest), { recursive: true });
  symlinkSync(readlinkSync(path), dest);
};
for (const name of externals) copyLink(join(from, name));
for (const link of links(join(store, 'node_modules'))) copyLink(link);
console.log(`${keep.size} packages for ${externals.join(', ')}`);
