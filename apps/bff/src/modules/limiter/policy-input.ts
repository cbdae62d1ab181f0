/**
 * A policy as the editor sends it (YAML text or a structured object), checked the way the controller will
 * check it: the schema, then rendering against the cluster as it is now with the current metric values.
 * Every issue carries its field path and, for YAML, the line and column it points at.
 */
import { parseSmartLimiter, type SmartLimiter } from '@governor/crd-types';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { InputInvalid, type InputIssue } from '../../lib/input-issues';

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
  readonly locate: (path: string) => { line: number; column: number } | undefined;
}

/** `a.b[0].c` → `['a', 'b', 0, 'c']`. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1] !== '') out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  // The deepest node on the path that exists: a missing field is reported where its parent is.
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      node = pair.value ?? pair.key;
      found = (pair.value ?? pair.key) as Node;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      node = item;
      found = item as Node;
    } else break;
  }
  return found;
}

export function parsePolicy(input: PolicyInput): ParsedPolicy {
  const issues: PolicyIssue[] = [];
  let raw: Record<string, unknown> | null = null;
  let locate: ParsedPolicy['locate'] = () => undefined;
  if ('yaml' in input) {
    const lines = new LineCounter();
    const doc = parseDocument(input.yaml, { lineCounter: lines, prettyErrors: false });
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0]);
      issues.push({
        path: '',
        message: e.message.split('\n')[0]!,
        line: pos.line,
        column: pos.col,
        severity: 'error',
      });
    }
    if (doc.errors.length === 0) {
      const value: unknown = doc.toJS();
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
      locate = (path) => {
        const node = nodeAt(doc, splitPath(path));
        const start = node?.range?.[0];
        if (start === undefined) return undefined;
        const pos = lines.linePos(start);
        return { line: pos.line, column: pos.col };
      };
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
