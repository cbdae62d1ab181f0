/**
 * The embedded demo's policies (src/demo/bookinfo.yaml: what `pnpm start` runs) rendered by `governor
 * render` and pushed through istiod (scripts/istio/harness) to every Pod their EnvoyFilters select: every
 * patch lands, Istio and Envoy accept the result, and Governor's explanation names the places istiod does.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { explainEnvoyFilters } from '../../src/istio/explain';
import { isKnownKind, type KubeObject } from '../../src/cluster/store';
import { runCli } from '../support/cli';
import { ENVOY_FILTER_WARNING } from '../support/envoy-config';
import { buildIstioHarness, ISTIO_HARNESS_BUILD_TIMEOUT_MS, runIstioHarness } from '../support/istio-harness';

const DEMO = fileURLToPath(new URL('../../src/demo/bookinfo.yaml', import.meta.url));

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

describe("the embedded demo's policies, through istiod", { timeout: 120_000 }, () => {
  let dir = '';
  let rendered = '';
  let mesh: KubeObject[] = [];

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-demo-'));
    // Over its CPU threshold, the adaptive reviews policy limits too: every demo policy renders.
    const out = await runCli(['render', '-f', DEMO, '--metric', '_base.cpu.percent=90']);
    mesh = yamlObjects(await readFile(DEMO, 'utf8'));
    // Objects of a kind no module renders are ignored with a warning each, and nothing else is said.
    const unrendered = mesh.filter((o) => !isKnownKind(o.kind) && o.kind !== 'SmartLimiter');
    expect(out.stderr.split('\n').filter((l) => l !== '')).toEqual(
      unrendered.map(
        (o) =>
          `warning: ${DEMO}: ${o.kind} ${o.metadata.namespace ?? 'default'}/${o.metadata.name}: not used for rendering, ignored`,
      ),
    );
    expect(out.code).toBe(0);
    rendered = join(dir, 'demo.rendered.yaml');
    await writeFile(rendered, out.stdout);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('renders one EnvoyFilter per demo policy', async () => {
    const filters = yamlObjects(await readFile(rendered, 'utf8'));
    expect(filters.every((f) => f.kind === 'EnvoyFilter')).toBe(true);
    const names = filters.map((f) => f.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining(
        mesh
          .filter((o) => o.kind === 'SmartLimiter')
          .map((o) => `${o.metadata.name}.${o.metadata.namespace}.ratelimit`),
      ),
    );
    // Whatever module renders the others (Slime's plugin objects), each comes from a demo object, and
    // every object of a kind a module renders is rendered.
    const limiters = new Set(mesh.filter((o) => o.kind === 'SmartLimiter').map((o) => o.metadata.name));
    const aeraki = names.filter((n) => n.startsWith('aeraki-')).sort();
    const others = names.filter((n) => !n.endsWith('.ratelimit') && !n.startsWith('aeraki-')).sort();
    const rendering = mesh.filter(
      (o) => isKnownKind(o.kind) && ['PluginManager', 'EnvoyPlugin'].includes(o.kind),
    );
    expect(others).toEqual(rendering.map((o) => o.metadata.name).sort());
    // The Thrift service: Aeraki's outbound filter for its clients and inbound one on its pods.
    expect(aeraki).toEqual([
      expect.stringMatching(/^aeraki-inbound-rating-rpc\.default\.svc\.cluster\.local-9090$/),
      expect.stringMatching(/^aeraki-outbound-rating-rpc\.default\.svc\.cluster\.local-[\d.]+-9090$/),
    ]);
    expect(names.length).toBe(limiters.size + others.length + aeraki.length);
  });

  it('lands every patch on every Pod selected, as Governor explains it', async () => {
    const envoyFilters = yamlObjects(await readFile(rendered, 'utf8'));
    const pods = mesh.filter((o) => o.kind === 'Pod');
    const patchlessFilters = new Set(
      envoyFilters
        .filter(
          (f) => ((f.spec as { configPatches?: unknown[] } | undefined)?.configPatches ?? []).length === 0,
        )
        .map((f) => `${f.metadata.namespace ?? 'default'}/${f.metadata.name}`),
    );
    let selectedSomewhere = 0;
    for (const pod of pods) {
      const proxy = { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name };
      const explained = explainEnvoyFilters({ objects: mesh, envoyFilters, proxy });
      if (explained.selected.length === 0) continue;
      selectedSomewhere += explained.selected.filter((n) => !patchlessFilters.has(n)).length;
      const { code, dump, stderr } = await runIstioHarness(
        [rendered, DEMO],
        `${proxy.namespace}/${proxy.name}`,
      );
      const where = `${proxy.namespace}/${proxy.name}`;
      expect(dump.unappliedPatches, where).toEqual([]);
      expect(
        dump.validation.filter((v) => !v.valid),
        where,
      ).toEqual([]);
      expect(dump.validation.flatMap((v) => v.warnings.filter((w) => w !== ENVOY_FILTER_WARNING))).toEqual(
        [],
      );
      expect(dump.envoyValidation, where).toEqual([]);
      expect(code, stderr).toBe(0);
      // The harness sees selection through patches: one without any (a plugin turned off) reads unselected.
      const patchless = explained.selected.filter((n) => patchlessFilters.has(n));
      expect([...explained.unselected, ...patchless].sort(), where).toEqual(
        [...dump.unselectedEnvoyFilters].sort(),
      );
      const istiod = new Map(dump.appliedPatches.map((p) => [`${p.envoyFilter}#${p.index}`, p.places]));
      for (const p of explained.patches) {
        expect(p.places, `${where} ${p.envoyFilter}#${p.index}`).toEqual(
          istiod.get(`${p.envoyFilter}#${p.index}`),
        );
      }
      expect(explained.patches.length, where).toBe(istiod.size);
    }
    // Each demo EnvoyFilter with patches selects a Pod (reviews: three); the MetaProtocol outbound one,
    // in the root namespace, every Pod; the inbound one rating-rpc's three.
    const ratingRpcPods = pods.filter((p) => p.metadata.labels?.app === 'rating-rpc').length;
    expect(ratingRpcPods).toBe(3);
    expect(selectedSomewhere).toBe(
      envoyFilters.length - patchlessFilters.size + 2 + (pods.length - 1) + (ratingRpcPods - 1),
    );
  });
});
