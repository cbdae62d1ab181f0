import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdYaml, governorCrds, smartLimiterCrd } from './crd';
import type { OpenApiSchema } from './schema/dsl';
import { parseSmartLimiter } from './smartlimiter';

const manifestsDir = join(import.meta.dirname, '..', 'manifests');

/**
 * What the API server does to an object before storing it: drops properties its schema does not know
 * (metadata is the API server's own and never pruned).
 */
function prune(schema: OpenApiSchema, value: unknown): unknown {
  const { metadata, ...rest } = value as Record<string, unknown>;
  return { ...(prunePart(schema, rest) as object), metadata };
}

function prunePart(schema: OpenApiSchema, value: unknown): unknown {
  if (
    schema['x-kubernetes-preserve-unknown-fields'] === true ||
    schema['x-kubernetes-int-or-string'] === true
  ) {
    return value;
  }
  if (Array.isArray(value)) {
    const items = schema.items as OpenApiSchema | undefined;
    return items ? value.map((v) => prunePart(items, v)) : value;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    const props = schema.properties as Record<string, OpenApiSchema> | undefined;
    const additional = schema.additionalProperties as OpenApiSchema | undefined;
    for (const [k, v] of Object.entries(value)) {
      const s = props?.[k] ?? additional;
      if (s) out[k] = prunePart(s, v);
    }
    return out;
  }
  return value;
}

/** Kubernetes' structural-schema rules: every node has a type unless it preserves unknown fields or is int-or-string. */
function structuralProblems(schema: OpenApiSchema, path: string): string[] {
  const problems: string[] = [];
  const special =
    schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true;
  if (!special && typeof schema.type !== 'string') problems.push(`${path}: no type`);
  for (const k of ['anyOf', 'oneOf', 'allOf', 'not', '$ref']) if (k in schema) problems.push(`${path}: ${k}`);
  const props = schema.properties as Record<string, OpenApiSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) problems.push(...structuralProblems(v, `${path}.${k}`));
  if (schema.items) problems.push(...structuralProblems(schema.items as OpenApiSchema, `${path}[]`));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    problems.push(...structuralProblems(schema.additionalProperties as OpenApiSchema, `${path}.*`));
  }
  return problems;
}

const fullLimiter = {
  apiVersion: 'microservice.slime.io/v1alpha2',
  kind: 'SmartLimiter',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: {
    gateway: false,
    host: 'reviews.default.svc.cluster.local',
    rls: 'outbound|18081||rate-limit.istio-system.svc.cluster.local',
    workload_selector: { app: 'reviews' },
    target: { direction: 'inbound', port: 9080, route: ['a/b'], host: ['c'] },
    sets: {
      v1: {
        descriptor: [
          {
            condition: '{{.v1.cpu.sum}}>10',
            custom_key: 'k',
            customValue: 'v',
            action: {
              quota: '10',
              fill_interval: { seconds: '60', nanos: 5 },
              strategy: 'average',
              headers_to_add: [{ key: 'a', value: 'b' }],
            },
            match: [
              {
                name: 'x',
                regex_match: 'r',
                exactMatch: 'e',
                prefix_match: 'p',
                suffixMatch: 's',
                present_match: true,
                invertMatch: true,
                is_exact_match_empty: false,
                presentMatchSeparate: false,
                useQueryMatch: false,
                matchSource: 'SourceIpMatch',
              },
              { name: 'y', exact_match: 'z', match_source: 1 },
            ],
            target: { direction: 'outbound', port: '80', route: ['a.test.com:80/r1'] },
          },
        ],
      },
    },
  },
  status: {
    metricStatus: { '_base.pod': '1' },
    ratelimitStatus: { _base: { descriptor: [] } },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Applied',
        message: 'ok',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
    observedGeneration: 3,
  },
};

describe('SmartLimiter CRD manifest', () => {
  it.each(Object.entries(governorCrds()))(
    'manifests/%s is up to date (pnpm --filter @governor/crd-types generate)',
    (file, crd) => {
      expect(readFileSync(join(manifestsDir, file), 'utf8')).toBe(crdYaml(crd));
    },
  );

  it('has a structural schema', () => {
    const schema = smartLimiterCrd().spec.versions[0]?.schema.openAPIV3Schema;
    expect(schema).toBeDefined();
    expect(structuralProblems(schema as OpenApiSchema, '')).toEqual([]);
  });

  it('keeps every field the types know, in both spellings, through API-server pruning', () => {
    const schema = smartLimiterCrd().spec.versions[0]?.schema.openAPIV3Schema as OpenApiSchema;
    const pruned = prune(schema, fullLimiter);
    expect(pruned).toEqual(fullLimiter);
    const a = parseSmartLimiter(fullLimiter);
    const b = parseSmartLimiter(pruned);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(b.value).toEqual(a.value);
  });

  it('prunes what the types do not know', () => {
    const schema = smartLimiterCrd().spec.versions[0]?.schema.openAPIV3Schema as OpenApiSchema;
    const pruned = prune(schema, { ...fullLimiter, spec: { ...fullLimiter.spec, colour: 'blue' } }) as {
      spec: Record<string, unknown>;
    };
    expect(pruned.spec).not.toHaveProperty('colour');
  });

  it('has a status subresource and printer columns for strategy, ready and age', () => {
    const v = smartLimiterCrd().spec.versions[0];
    expect(v?.subresources).toEqual({ status: {} });
    expect(v?.additionalPrinterColumns?.map((c) => c.name)).toEqual(['Strategy', 'Ready', 'Age']);
  });
});
