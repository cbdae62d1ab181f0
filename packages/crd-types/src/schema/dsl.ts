/**
 * A small schema language that is the single source of truth for a custom resource's shape.
 *
 * One definition gives three things:
 * - the TypeScript type of the normalised object ({@link Infer}),
 * - the runtime validator, a zod schema that accepts every spelling a field has (Slime's manifests use
 *   snake_case and lowerCamel for the same field) and normalises to one canonical name ({@link toZod}),
 * - the structural OpenAPI v3 schema for the CRD manifest, which must list every spelling, since the API
 *   server prunes properties that its schema does not know ({@link toOpenApi}).
 */
import { z } from 'zod';
import { editDistance } from '../suggest';

export interface StringNode<E extends string = string> {
  readonly kind: 'string';
  readonly enum?: readonly E[];
  readonly maxLength?: number;
  readonly description?: string;
}
export interface IntNode {
  readonly kind: 'int';
  readonly min?: number;
  readonly max?: number;
  /** proto3 JSON allows 32-bit integers as decimal strings ("60"); Slime's manifests sometimes use them. */
  readonly allowString?: boolean;
  readonly format?: 'int32' | 'int64';
  readonly description?: string;
}
/** A proto `double`: any finite number. */
export interface NumberNode {
  readonly kind: 'number';
  readonly min?: number;
  readonly max?: number;
  readonly description?: string;
}
export interface BoolNode {
  readonly kind: 'bool';
  readonly description?: string;
}
/** A proto enum: its value names, or their numbers (proto3 JSON accepts both); normalised to the name. */
export interface EnumNode<E extends string = string> {
  readonly kind: 'enum';
  readonly values: readonly E[];
  readonly description?: string;
}
export interface ArrayNode<I extends Node = Node> {
  readonly kind: 'array';
  readonly items: I;
  readonly maxItems?: number;
  readonly description?: string;
}
export interface MapNode<V extends Node = Node> {
  readonly kind: 'map';
  readonly values: V;
  /** A value may be null (a YAML `key:` with nothing after it), kept as null: Aeraki's "present" match. */
  readonly nullableValues?: boolean;
  readonly description?: string;
}
/** Any JSON value, kept as it is (`x-kubernetes-preserve-unknown-fields`). */
export interface AnyNode {
  readonly kind: 'any';
  readonly description?: string;
}
export interface Field<N extends Node = Node> {
  readonly node: N;
  /** Other spellings of the same field, e.g. `fill_interval` for `fillInterval`. */
  readonly aliases?: readonly string[];
  readonly required?: boolean;
  readonly description?: string;
}
export interface ObjectNode<F extends Record<string, Field> = Record<string, Field>> {
  readonly kind: 'object';
  readonly fields: F;
  readonly description?: string;
}
export type Node =
  StringNode | IntNode | NumberNode | BoolNode | EnumNode | ArrayNode | MapNode | ObjectNode | AnyNode;

/* ---------- constructors ---------- */

export const str = <const E extends string = string>(
  opts: Omit<StringNode<E>, 'kind'> = {},
): StringNode<E> => ({
  kind: 'string',
  ...opts,
});
export const int = (opts: Omit<IntNode, 'kind'> = {}): IntNode => ({ kind: 'int', ...opts });
export const num = (opts: Omit<NumberNode, 'kind'> = {}): NumberNode => ({ kind: 'number', ...opts });
export const bool = (opts: Omit<BoolNode, 'kind'> = {}): BoolNode => ({ kind: 'bool', ...opts });
export const enumOf = <const E extends string>(values: readonly E[], description?: string): EnumNode<E> => ({
  kind: 'enum',
  values,
  ...(description ? { description } : {}),
});
export const arr = <I extends Node>(
  items: I,
  opts: Omit<ArrayNode<I>, 'kind' | 'items'> = {},
): ArrayNode<I> => ({
  kind: 'array',
  items,
  ...opts,
});
export const map = <V extends Node>(
  values: V,
  description?: string,
  opts: { nullableValues?: boolean } = {},
): MapNode<V> => ({
  kind: 'map',
  values,
  ...(description ? { description } : {}),
  ...(opts.nullableValues ? { nullableValues: true } : {}),
});
/** A map whose values may be null, kept as null (Aeraki writes `attribute:` for "present"). */
export const nullableMap = <V extends Node>(values: V, description?: string) =>
  ({ ...map(values, description), nullableValues: true }) as MapNode<V> & { readonly nullableValues: true };
export const anyValue = (description?: string): AnyNode => ({
  kind: 'any',
  ...(description ? { description } : {}),
});
export const obj = <F extends Record<string, Field>>(fields: F, description?: string): ObjectNode<F> => ({
  kind: 'object',
  fields,
  ...(description ? { description } : {}),
});
export const field = <N extends Node, const O extends Omit<Field<N>, 'node'> = Record<never, never>>(
  node: N,
  opts?: O,
): { node: NoInfer<N> } & NoInfer<O> => ({ node, ...(opts ?? ({} as O)) });

/* ---------- the normalised TypeScript type ---------- */

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<F> = { [K in keyof F]: F[K] extends { required: true } ? K : never }[keyof F];
type OptionalKeys<F> = Exclude<keyof F, RequiredKeys<F>>;
type NodeOf<T> = T extends { node: infer N } ? N : never;
type InferObject<F> = Simplify<
  { [K in RequiredKeys<F>]: Infer<NodeOf<F[K]>> } & { [K in OptionalKeys<F>]?: Infer<NodeOf<F[K]>> }
>;

export type Infer<N> = N extends { kind: 'string'; enum?: readonly (infer E)[] }
  ? string extends E
    ? string
    : E
  : N extends { kind: 'int' | 'number' }
    ? number
    : N extends { kind: 'bool' }
      ? boolean
      : N extends { kind: 'enum'; values: readonly (infer E)[] }
        ? E
        : N extends { kind: 'array'; items: infer I }
          ? Infer<I>[]
          : N extends { kind: 'map'; values: infer V; nullableValues: true }
            ? Record<string, Infer<V> | null>
            : N extends { kind: 'map'; values: infer V }
              ? Record<string, Infer<V>>
              : N extends { kind: 'object'; fields: infer F }
                ? InferObject<F>
                : N extends { kind: 'any' }
                  ? unknown
                  : never;

/* ---------- zod ---------- */

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The zod schema for a node: validates any accepted spelling and outputs the canonical, normalised value.
 * Unknown object keys are not errors (they are reported separately by {@link findUnknownFields}).
 */
export function toZod<N extends Node>(node: N): z.ZodType<Infer<N>> {
  return buildZod(node) as unknown as z.ZodType<Infer<N>>;
}

function buildZod(node: Node): z.ZodType {
  switch (node.kind) {
    case 'string': {
      const allowed = node.enum;
      const max = node.maxLength;
      return z.unknown().transform((v, ctx) => {
        if (typeof v !== 'string') {
          ctx.addIssue({ code: 'custom', message: `expected a string, got ${describeType(v)}` });
          return z.NEVER;
        }
        if (max !== undefined && v.length > max) {
          ctx.addIssue({ code: 'custom', message: `longer than ${max} characters` });
          return z.NEVER;
        }
        if (allowed && !allowed.includes(v)) {
          ctx.addIssue({
            code: 'custom',
            message: `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`,
          });
          return z.NEVER;
        }
        return v;
      });
    }
    case 'int': {
      const { min, max, allowString } = node;
      return z.unknown().transform((v, ctx) => {
        let n: number | undefined;
        if (typeof v === 'number') n = v;
        else if (allowString && typeof v === 'string' && /^-?\d+$/.test(v.trim())) n = Number(v.trim());
        if (n === undefined || !Number.isInteger(n)) {
          ctx.addIssue({ code: 'custom', message: `expected an integer, got ${describeType(v)}` });
          return z.NEVER;
        }
        if (min !== undefined && n < min) {
          ctx.addIssue({ code: 'custom', message: `must be at least ${min}, got ${n}` });
          return z.NEVER;
        }
        if (max !== undefined && n > max) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${max}, got ${n}` });
          return z.NEVER;
        }
        return n;
      });
    }
    case 'number': {
      const { min, max } = node;
      return z.unknown().transform((v, ctx) => {
        const n = typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isFinite(n)) {
          ctx.addIssue({ code: 'custom', message: `expected a number, got ${describeType(v)}` });
          return z.NEVER;
        }
        if (min !== undefined && n < min) {
          ctx.addIssue({ code: 'custom', message: `must be at least ${min}, got ${n}` });
          return z.NEVER;
        }
        if (max !== undefined && n > max) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${max}, got ${n}` });
          return z.NEVER;
        }
        return n;
      });
    }
    case 'bool':
      return z.unknown().transform((v, ctx) => {
        if (typeof v === 'boolean') return v;
        // YAML authors write "true" in quotes as often as not; proto3 JSON parsers accept only JSON booleans,
        // but there is no ambiguity in taking the two words.
        if (v === 'true' || v === 'false') return v === 'true';
        ctx.addIssue({ code: 'custom', message: `expected true or false, got ${describeType(v)}` });
        return z.NEVER;
      });
    case 'enum': {
      const values = node.values;
      return z.unknown().transform((v, ctx) => {
        if (typeof v === 'string' && values.includes(v)) return v;
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < values.length) return values[v];
        ctx.addIssue({
          code: 'custom',
          message: `expected one of ${values.join(', ')}, got ${describeType(v)}`,
        });
        return z.NEVER;
      });
    }
    case 'array': {
      const item = buildZod(node.items);
      const inner = z.array(item, { error: (iss) => `expected a list, got ${describeType(iss.input)}` });
      const max = node.maxItems;
      return max === undefined ? inner : inner.max(max, { error: `at most ${max} items` });
    }
    case 'map': {
      const value = node.nullableValues ? buildZod(node.values).nullable() : buildZod(node.values);
      return z
        .unknown()
        .pipe(
          z.record(z.string(), value, { error: (iss) => `expected a map, got ${describeType(iss.input)}` }),
        );
    }
    case 'any':
      return z.unknown();
    case 'object':
      return buildObject(node);
  }
}

function buildObject(node: ObjectNode): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  const spellings: [canonical: string, names: string[], required: boolean][] = [];
  for (const [name, f] of Object.entries(node.fields)) {
    const names = [name, ...(f.aliases ?? [])];
    const schema = buildZod(f.node);
    // A YAML `key:` with nothing after it is null: treat it as absent, as Kubernetes and jsonpb do.
    for (const n of names) shape[n] = schema.nullish();
    spellings.push([name, names, f.required === true]);
  }
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (!isPlainObject(v)) {
        ctx.addIssue({ code: 'custom', message: `expected an object, got ${describeType(v)}` });
      }
    })
    .pipe(
      z
        .looseObject(shape)
        .superRefine((v, ctx) => {
          for (const [canonical, names, required] of spellings) {
            const present = names.filter((n) => v[n] !== undefined && v[n] !== null);
            if (present.length > 1) {
              const values = present.map((n) => JSON.stringify(v[n]));
              if (new Set(values).size > 1) {
                ctx.addIssue({
                  code: 'custom',
                  path: [present[1] ?? canonical],
                  message: `given twice with different values as ${present.join(' and ')}; keep one`,
                });
              }
            }
            if (required && present.length === 0) {
              ctx.addIssue({ code: 'custom', path: [canonical], message: 'required' });
            }
          }
        })
        .transform((v) => {
          const out: Record<string, unknown> = {};
          for (const [canonical, names] of spellings) {
            for (const n of names) {
              const value = v[n];
              if (value !== undefined && value !== null) {
                out[canonical] = value;
                break;
              }
            }
          }
          return out;
        }),
    );
}

/* ---------- unknown fields ---------- */

export interface UnknownField {
  /** Path in the input as written, e.g. `spec.sets._base.descriptor[0].conditon`. */
  readonly path: string;
  readonly key: string;
  /** A known field whose spelling is close, if any. */
  readonly suggestion?: string;
}

/** Lists keys of `value` that the schema does not know. They are kept out of the way, never an error. */
export function findUnknownFields(node: Node, value: unknown, path = ''): UnknownField[] {
  const out: UnknownField[] = [];
  walkUnknown(node, value, path, out);
  return out;
}

function walkUnknown(node: Node, value: unknown, path: string, out: UnknownField[]): void {
  switch (node.kind) {
    case 'object': {
      if (!isPlainObject(value)) return;
      const known = new Map<string, Field>();
      for (const [name, f] of Object.entries(node.fields)) {
        known.set(name, f);
        for (const a of f.aliases ?? []) known.set(a, f);
      }
      for (const [k, v] of Object.entries(value)) {
        const f = known.get(k);
        const childPath = path ? `${path}.${k}` : k;
        if (!f) {
          const suggestion = closest(k, [...known.keys()]);
          out.push({ path: childPath, key: k, ...(suggestion ? { suggestion } : {}) });
        } else {
          walkUnknown(f.node, v, childPath, out);
        }
      }
      return;
    }
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walkUnknown(node.items, v, `${path}[${i}]`, out));
      return;
    case 'map':
      if (isPlainObject(value)) {
        for (const [k, v] of Object.entries(value))
          if (v !== null) walkUnknown(node.values, v, path ? `${path}.${k}` : k, out);
      }
      return;
    default:
      return;
  }
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = key.toLowerCase().replace(/[_-]/g, '');
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase().replace(/[_-]/g, ''));
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}

/* ---------- OpenAPI v3 (structural, as Kubernetes requires) ---------- */

export type OpenApiSchema = { [key: string]: unknown };

/**
 * The structural OpenAPI v3 schema for a node. Every spelling of a field is a property, so that the API
 * server's pruning keeps whichever the user wrote.
 */
export function toOpenApi(node: Node): OpenApiSchema {
  const withDescription = (s: OpenApiSchema, d: string | undefined): OpenApiSchema =>
    d ? { description: d, ...s } : s;
  switch (node.kind) {
    case 'string':
      return withDescription(
        {
          type: 'string',
          ...(node.enum ? { enum: [...node.enum] } : {}),
          ...(node.maxLength !== undefined ? { maxLength: node.maxLength } : {}),
        },
        node.description,
      );
    case 'int':
      return withDescription(
        node.allowString
          ? { 'x-kubernetes-int-or-string': true }
          : {
              type: 'integer',
              format: node.format ?? 'int32',
              ...(node.min !== undefined ? { minimum: node.min } : {}),
              ...(node.max !== undefined ? { maximum: node.max } : {}),
            },
        node.description,
      );
    case 'number':
      return withDescription(
        {
          type: 'number',
          format: 'double',
          ...(node.min !== undefined ? { minimum: node.min } : {}),
          ...(node.max !== undefined ? { maximum: node.max } : {}),
        },
        node.description,
      );
    case 'bool':
      return withDescription({ type: 'boolean' }, node.description);
    case 'enum':
      // proto3 JSON admits the name or the number of an enum value.
      return withDescription({ 'x-kubernetes-int-or-string': true }, node.description);
    case 'array':
      return withDescription(
        {
          type: 'array',
          items: toOpenApi(node.items),
          ...(node.maxItems !== undefined ? { maxItems: node.maxItems } : {}),
        },
        node.description,
      );
    case 'map':
      return withDescription(
        {
          type: 'object',
          additionalProperties: node.nullableValues
            ? { ...toOpenApi(node.values), nullable: true }
            : toOpenApi(node.values),
        },
        node.description,
      );
    case 'any':
      return withDescription({ 'x-kubernetes-preserve-unknown-fields': true }, node.description);
    case 'object': {
      const properties: Record<string, OpenApiSchema> = {};
      for (const [name, f] of Object.entries(node.fields)) {
        const s = toOpenApi(f.node);
        const described = f.description ? { description: f.description, ...s } : s;
        for (const n of [name, ...(f.aliases ?? [])].sort()) properties[n] = described;
      }
      const sorted: Record<string, OpenApiSchema> = {};
      for (const k of Object.keys(properties).sort()) sorted[k] = properties[k] as OpenApiSchema;
      return withDescription({ type: 'object', properties: sorted }, node.description);
    }
  }
}
