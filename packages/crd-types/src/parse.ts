/** Reading a custom resource once at the boundary: typed issues with paths, unknown fields as warnings. */
import type { z } from 'zod';
import { findUnknownFields, type Node, type UnknownField } from './schema/dsl';

export interface SchemaIssue {
  /** Path in the object as written, e.g. `spec.sets._base.descriptor[0].action.quota`. */
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly UnknownField[] }
  | {
      readonly ok: false;
      readonly issues: readonly SchemaIssue[];
      readonly warnings: readonly UnknownField[];
    };

/** Formats a zod issue path the way a Kubernetes user reads it: `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function issuesOf(error: z.ZodError): SchemaIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** Parses `input` with `schema`; fields its spec has that `specNode` does not know are warnings. */
export function parseResource<T>(schema: z.ZodType<T>, specNode: Node, input: unknown): ParseResult<T> {
  const warnings =
    typeof input === 'object' && input !== null && 'spec' in input
      ? findUnknownFields(specNode, (input as { spec: unknown }).spec, 'spec')
      : [];
  const r = schema.safeParse(input);
  if (!r.success) return { ok: false, issues: issuesOf(r.error), warnings };
  return { ok: true, value: r.data, warnings };
}
