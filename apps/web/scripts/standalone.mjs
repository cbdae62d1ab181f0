#!/usr/bin/env node
// Completes `next build`'s standalone output (.next/standalone, traced from the workspace root): Next
// leaves the client assets (.next/static) and public/ for the deployment to copy, so they are copied into
// the tree here, once, and `node .next/standalone/apps/web/server.js` serves everything by itself, both
// for `pnpm start` and in the container image.
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = join(web, '.next/standalone/apps/web');
if (!existsSync(join(server, 'server.js'))) {
  console.error(`${server}/server.js is missing: run next build with output: 'standalone' first`);
  process.exit(1);
}
for (const [from, to] of [
  ['.next/static', '.next/static'],
  ['public', 'public'],
]) {
  const source = join(web, from);
  if (!existsSync(source)) continue;
  rmSync(join(server, to), { recursive: true, force: true });
  cpSync(source, join(server, to), { recursive: true });
}

// The trace keeps sharp and libvips (~20 MB) for next/image's optimizer, which the dashboard does not use
// (no next/image); Next loads sharp only when an image is optimized.
const store = join(web, '.next/standalone/node_modules/.pnpm');
for (const name of readdirSync(store))
  if (/^(sharp@|@img\+sharp-)/.test(name)) rmSync(join(store, name), { recursive: true, force: true });
// and the links to it, left dangling.
for (const name of readdirSync(store)) {
  const link = join(store, name, 'node_modules/sharp');
  if (!existsSync(link)) rmSync(link, { force: true });
}
