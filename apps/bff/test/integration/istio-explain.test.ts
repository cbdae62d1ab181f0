/**
 * Governor's explanation of where each EnvoyFilter patch lands (src/istio/explain.ts, istiod's matching
 * rules over a model of the proxy) against istiod itself: for every Slime example and conversion fixture
 * the harness runs, and for EnvoyFilters that use each match field and operation, each patch's places
 * must be the ones the harness finds by removing the patch and comparing what istiod pushes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { explainEnvoyFilters } from '../../src/istio/explain';
import type { PatchPlace, ProxyExplanation } from '../../src/istio/explain-types';
import type { KubeObject } from '../../src/istio/proxy-model';
import { runCli } from '../support/cli';
import {
  CASES,
  harnessInputPath,
  MISS_CASES,
  writeHarnessInputs,
  type HarnessInput,
} from '../support/istio-fixture-cases';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type IstioDump,
} from '../support/istio-harness';
import {
  CATCH_ALL_FILTERS,
  GATEWAY_FILTERS,
  GATEWAY_MESH,
  GATEWAY_TLS_FILTERS,
  GATEWAY_TLS_MESH,
  SNIFFED_MESH,
  SIDECAR_FILTERS,
  SIDECAR_MESH,
  SIDECAR_OPERATIONS,
} from '../support/istio-explain-scenarios';

interface ExplainCase {
  name: string;
  render: string[];
  harness: HarnessInput[];
  proxy: string;
  gateway?: boolean;
}

const ALL: ExplainCase[] = [...CASES, ...MISS_CASES];

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

/** Governor's explanation says what istiod does: the same EnvoyFilters selected, each patch's places. */
function expectIstiodPlaces(explained: ProxyExplanation, dump: IstioDump): void {
  expect(explained.unselected).toEqual(dump.unselectedEnvoyFilters);
  expect(explained.proxy.type).toBe(dump.proxy.type === 'router' ? 'gateway' : 'sidecar');
  const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
  const istiod = new Map<string, PatchPlace[]>([
    ...dump.appliedPatches.map((p): [string, PatchPlace[]] => [key(p), p.places]),
    ...dump.unappliedPatches.map((p): [string, PatchPlace[]] => [key(p), []]),
  ]);
  expect(explained.patches.map(key).sort()).toEqual([...istiod.keys()].sort());
  for (const p of explained.patches) {
    expect(p.places, `${key(p)} ${p.applyTo} ${p.operation}: ${p.reason ?? ''}`).toEqual(istiod.get(key(p)));
    expect(p.reason === undefined, key(p)).toBe(p.places.length > 0);
  }
}

describe('where each patch lands: Governor against istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-explain-'));
    await writeHarnessInputs(dir);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it.each(ALL)('$name', async (c) => {
    const out = await runCli(['render', ...c.render]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const renderedFile = join(dir, `${c.name.replaceAll('/', '_')}.rendered.yaml`);
    await writeFile(renderedFile, out.stdout);
    const files = c.harness.map((i) => harnessInputPath(dir, i));
    const { dump } = await runIstioHarness([renderedFile, ...files], c.proxy, {
      gateway: c.gateway ?? false,
    });

    const objects = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).flatMap(yamlObjects);
    const envoyFilters = [...yamlObjects(out.stdout), ...objects.filter((o) => o.kind === 'EnvoyFilter')];
    const [namespace, name] = c.proxy.split('/') as [string, string];
    const explained = explainEnvoyFilters({
      objects: objects.filter((o) => o.kind !== 'EnvoyFilter'),
      envoyFilters,
      proxy: { namespace, name },
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    });

    expectIstiodPlaces(explained, dump);
  });

  const SCENARIOS = [
    {
      name: 'sidecar: each match field',
      mesh: SIDECAR_MESH,
      filters: SIDECAR_FILTERS,
      proxy: 'default/reviews-1',
    },
    {
      name: 'sidecar: each operation',
      mesh: SIDECAR_MESH,
      filters: SIDECAR_OPERATIONS,
      proxy: 'default/reviews-1',
    },
    {
      name: 'gateway behind a Service',
      mesh: GATEWAY_MESH,
      filters: GATEWAY_FILTERS,
      proxy: 'gw/gw-1',
      gateway: true,
    },
    {
      name: 'sidecar: sniffed and TCP ports',
      mesh: SNIFFED_MESH,
      filters: CATCH_ALL_FILTERS,
      proxy: 'default/a-1',
    },
    {
      name: 'gateway: HTTPS servers, two Gateways',
      mesh: GATEWAY_TLS_MESH,
      filters: GATEWAY_TLS_FILTERS,
      proxy: 'gw/gw-2',
      gateway: true,
    },
  ];

  it.each(SCENARIOS)('$name', async (c) => {
    const base = join(dir, c.name.replaceAll(/[^a-z]+/g, '-'));
    await writeFile(`${base}.mesh.yaml`, c.mesh);
    await writeFile(`${base}.filters.yaml`, c.filters);
    const { dump } = await runIstioHarness([`${base}.mesh.yaml`, `${base}.filters.yaml`], c.proxy, {
      gateway: c.gateway ?? false,
    });
    expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
    const [namespace, name] = c.proxy.split('/') as [string, string];
    const explained = explainEnvoyFilters({
      objects: yamlObjects(c.mesh),
      envoyFilters: yamlObjects(c.filters),
      proxy: { namespace, name },
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    });
    expectIstiodPlaces(explained, dump);
  });
});
