/**
 * A policy as the editor sends it (YAML text or a structured object), checked the way the controller will
 * check it: the schema, then rendering against the cluster as it is now with the current metric values.
 * Every issue carries its field path and, for YAML, the line and column it points at.
 */
import { parseSmartLimiter, type SmartLimiter } from '@governor/crd-types';
import { z } from 'zod';
import { InputInvalid, type InputIssue } from '../../lib/input-issues';
import { readYaml, type Locate } from '../../lib/yaml-input';

/** Largest policy text accepted. */
export const MAX_POLICY_BYTES = 256 * 1024;

export const policyInputSchema = z.union([
  z.strictObject({ yaml: z.string().max(MAX_POLICY_BYTES, `at most ${MAX_POLICY_BYTES} bytes`) }),
  z.strictObject({ object: z.record(z.string(), z.unknown()) }),
]);
export type PolicyInput = z.infer<typeof policyInputSchema>;

/** A Pod, `namespace/name`, to explain a preview on (DNS-1123 names, as Kubernetes allows them). */
const proxyRefSchema = z
  .string()
  .max(317)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'expected NAMESPACE/POD');

export const previewInputSchema = z.union([
  z.strictObject({
    yaml: z.string().max(MAX_POLICY_BYTES, `at most ${MAX_POLICY_BYTES} bytes`),
    proxy: proxyRefSchema.optional(),
  }),
  z.strictObject({ object: z.record(z.string(), z.unknown()), proxy: proxyRefSchema.optional() }),
]);

export type PolicyIssue = InputIssue;

export interface ParsedPolicy {
  readonly limiter: SmartLimiter | null;
  /** The object as written (for storing), when it parsed as YAML at all. */
  readonly raw: Record<string, unknown> | null;
  readonly issues: PolicyIssue[];
  /** Finds the line and column of a field path in the YAML input. */
  readonly locate: Locate;
}

export function parsePolicy(input: PolicyInput): ParsedPolicy {
  const issues: PolicyIssue[] = [];
  let raw: Record<string, unknown> | null = null;
  let locate: Locate = () => undefined;
  if ('yaml' in input) {
    const read = readYaml(input.yaml);
    issues.push(...read.issues);
    if (read.issues.length === 0) {
      const value = read.value;
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        raw = value as Record<string, unknown>;
      else
        issues.push({
          path: '',
          message: 'expected a SmartLimiter (a YAML mapping)',
          line: 1,
          column: 1,
          severity: 'error',
        });
      locate = read.locate;
    }
  } else raw = input.object;

  let limiter: SmartLimiter | null = null;
  if (raw) {
    const r = parseSmartLimiter(raw);
    for (const w of r.warnings)
      issues.push({
        path: w.path,
        message: `unknown field "${w.key}"${w.suggestion ? ` (did you mean "${w.suggestion}"?)` : ''}: ignored`,
        ...locate(w.path),
        severity: 'warning',
      });
    if (r.ok) limiter = r.value;
    else
      for (const i of r.issues)
        issues.push({ path: i.path, message: i.message, ...locate(i.path), severity: 'error' });
  }
  return { limiter, raw, issues, locate };
}

/** Carries the field-level issues of a refused policy to the client (the error's `data.issues`). */
export { InputInvalid as PolicyInvalid };
