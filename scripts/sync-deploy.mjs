#!/usr/bin/env node
// Keeps deploy/ true to its sources:
//   - deploy/chart/files/crds: the CRDs of packages/crd-types/manifests, annotated
//     helm.sh/resource-policy: keep (the chart's templates/crds.yaml includes them per enabled module);
//   - deploy/chart/Chart.yaml: version and appVersion follow apps/bff/package.json (the BFF's version, which the images carry);
//   - deploy/governor.yaml: the chart rendered with its default values (`helm template governor
//     deploy/chart -n governor-system`) plus the Namespace, for `kubectl apply` without Helm;
//   - deploy/crds: the same CRDs as files of their own.
// `--check` changes nothing and exits 1 when any of them is stale. helm comes from $HELM, else from
// scripts/test-cluster/build-helm.sh (built once and cached).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'packages/crd-types/manifests');
const chart = join(root, 'deploy/chart');
const crdsDir = join(chart, 'files/crds');
const check = process.argv.includes('--check');
const NAMESPACE = 'governor-system';

/** path → wanted text (undefined: the file should not exist). */
const wanted = new Map();

// CRDs, annotated so that Helm never deletes them (and with them the users' objects).
for (const f of readdirSync(source).filter((f) => f.endsWith('.yaml'))) {
  const text = readFileSync(join(source, f), 'utf8');
  const annotated = text.replace(
    /^metadata:\n/m,
    'metadata:\n  annotations:\n    helm.sh/resource-policy: keep\n',
  );
  if (annotated === text) throw new Error(`${f}: no top-level metadata`);
  wanted.set(
    join(crdsDir, f),
    `# Copied from packages/crd-types/manifests by scripts/sync-deploy.mjs: do not edit here.\n${annotated}`,
  );
}
if (existsSync(crdsDir))
  for (const f of readdirSync(crdsDir))
    if (!wanted.has(join(crdsDir, f))) wanted.set(join(crdsDir, f), undefined);

// The chart's version and appVersion are the package's.
const version = JSON.parse(readFileSync(join(root, 'apps/bff/package.json'), 'utf8')).version;
const chartYaml = readFileSync(join(chart, 'Chart.yaml'), 'utf8');
wanted.set(
  join(chart, 'Chart.yaml'),
  chartYaml
    .replace(/^version: .*$/m, `version: ${version}`)
    .replace(/^appVersion: .*$/m, `appVersion: ${version}`),
);

// The plain manifests, rendered from the chart as it will be once the files above are written.
function helm() {
  if (process.env.HELM) return process.env.HELM;
  const out = execFileSync('bash', [join(root, 'scripts/test-cluster/build-helm.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop();
}
const pending = [...wanted].filter(
  ([path, text]) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined) !== text,
);
let rendered;
if (check && pending.length > 0) rendered = undefined;
else {
  if (!check) write(pending.filter(([path]) => !path.endsWith('governor.yaml')));
  rendered = execFileSync(helm(), ['template', 'governor', chart, '--namespace', NAMESPACE], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}
const header = `# Governor ${version} on a cluster with Istio, without Helm: the chart deploy/chart rendered with its
# default values (\`helm template governor deploy/chart -n ${NAMESPACE}\`, plus the Namespace) by
# scripts/sync-deploy.mjs. Do not edit here: change the chart and run \`node scripts/sync-deploy.mjs\`.
# See docs/install.md; with Helm, \`helm install governor deploy/chart -n ${NAMESPACE} --create-namespace\`.
#
#   kubectl apply --server-side -f deploy/governor.yaml
#
# Istio must be installed first: a Role here goes into istio-system (to read istiod's version).
#
# Images: governor/bff:${version} and governor/web:${version}, built by scripts/build-images; push them to
# your registry and change the two \`image:\` fields (or use \`kubectl set image\`).
#
# The admin token: the first BFF to start creates the ConfigMap governor-admin in this namespace (the
# token's SHA-256 under \`tokenSha256\`, never the token) and prints the token once; later starts and other
# replicas read it. Find it in the log of the Pod that created it:
#
#   kubectl -n ${NAMESPACE} logs -l app.kubernetes.io/name=governor-bff --tail=-1 --prefix | grep -A2 'admin token'
#
# Rotate it by deleting the ConfigMap and restarting (a new token is printed), or by writing the hash of a
# token of your own (32 characters or more) and restarting:
#
#   kubectl -n ${NAMESPACE} delete configmap governor-admin
#   kubectl -n ${NAMESPACE} create configmap governor-admin \\
#     --from-literal=tokenSha256="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"   # optional
#   kubectl -n ${NAMESPACE} rollout restart deployment/governor-bff
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${NAMESPACE}
  labels:
    app.kubernetes.io/part-of: governor
`;
const manifest = join(root, 'deploy/governor.yaml');
if (rendered !== undefined) wanted.set(manifest, header + rendered);
// deploy/crds: the same CRDs as files, for operators who apply them apart (deploy/governor.yaml has them).
const oldCrds = join(root, 'deploy/crds');
for (const [path, text] of [...wanted])
  if (path.startsWith(crdsDir)) wanted.set(join(oldCrds, relative(crdsDir, path)), text);
if (existsSync(oldCrds))
  for (const f of readdirSync(oldCrds))
    if (!wanted.has(join(oldCrds, f))) wanted.set(join(oldCrds, f), undefined);

const stale = [...wanted].filter(
  ([path, text]) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined) !== text,
);
if (check) {
  for (const [path] of stale) console.error(`${relative(root, path)} is stale`);
  if (rendered === undefined) console.error('deploy/governor.yaml: not rendered while the chart is stale');
  if (stale.length > 0) console.error('Run: node scripts/sync-deploy.mjs');
  process.exit(stale.length > 0 ? 1 : 0);
}
write(stale);

function write(files) {
  for (const [path, text] of files) {
    if (text === undefined) rmSync(path);
    else {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }
    console.log(`${text === undefined ? 'removed' : 'wrote'} ${relative(root, path)}`);
  }
}
