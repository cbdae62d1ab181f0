#!/usr/bin/env node
// Copies the CRD manifests generated in packages/crd-types/manifests into deploy/crds, the directory an
// operator applies. `--check` changes nothing and exits 1 when deploy/crds is stale.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'packages/crd-types/manifests');
const target = join(root, 'deploy/crds');
const check = process.argv.includes('--check');

const header =
  '# Copied from packages/crd-types/manifests by scripts/sync-deploy-crds.mjs: do not edit here.\n';
const wanted = new Map(
  readdirSync(source)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, header + readFileSync(join(source, f), 'utf8')]),
);
const present = existsSync(target) ? readdirSync(target).filter((f) => f.endsWith('.yaml')) : [];

const stale = [
  ...[...wanted].filter(
    ([f, text]) => !present.includes(f) || readFileSync(join(target, f), 'utf8') !== text,
  ),
  ...present.filter((f) => !wanted.has(f)).map((f) => [f, undefined]),
];
if (check) {
  for (const [f] of stale) console.error(`deploy/crds/${f} is stale`);
  if (stale.length > 0) console.error('Run: node scripts/sync-deploy-crds.mjs');
  process.exit(stale.length > 0 ? 1 : 0);
}
mkdirSync(target, { recursive: true });
for (const [f, text] of stale) {
  if (text === undefined) rmSync(join(target, f));
  else writeFileSync(join(target, f), text);
  console.log(`${text === undefined ? 'removed' : 'wrote'} deploy/crds/${f}`);
}
