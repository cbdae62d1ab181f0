/**
 * Form fields from a filter's settings schema (the BFF's `envoy.schema`): one field per property, keyed by
 * its proto name. Nested messages are expanded lazily by their `$ref`, since Envoy's messages can be
 * recursive (RBAC's `Permission` holds `Permission`s).
 */

/** The schema as `envoy.schema` serves it (documented in the BFF's `envoy/schema.ts`), as far as read here. */
export interface PropertySchema {
  readonly $ref?: string;
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly jsonName: string;
  readonly oneof?: string;
  readonly deprecated?: boolean;
}
export interface MessageSchema {
  readonly title: string;
  readonly properties: Readonly<Record<string, PropertySchema>>;
  readonly oneofs: Readonly<Record<string, readonly string[]>>;
}
export interface SettingsSchema {
  readonly $ref: string;
  readonly $defs: Readonly<Record<string, MessageSchema>>;
}

export type FieldKind =
  | { readonly type: 'boolean' }
  | { readonly type: 'string' }
  | { readonly type: 'duration' }
  | {
      readonly type: 'integer';
      readonly min: number;
      readonly max: number | undefined;
      readonly wide: boolean;
    }
  | { readonly type: 'number' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'message'; readonly ref: string; readonly size: number }
  /** Lists, maps, Struct, Value, Any: edited as a JSON or YAML value. */
  | { readonly type: 'json'; readonly shape: 'array' | 'object' | 'any' };

export interface Field {
  /** The proto name, as the form writes it. */
  readonly key: string;
  /** The protobuf JSON name, which an author may have written instead. */
  readonly jsonName: string;
  readonly kind: FieldKind;
  readonly oneof?: string | undefined;
  readonly deprecated: boolean;
}

/** Messages with more fields than this start collapsed, as does every message deeper than `OPEN_DEPTH`. */
export const LARGE_MESSAGE = 15;
export const OPEN_DEPTH = 2;

export const refName = (ref: string): string => ref.replace(/^#\/\$defs\//, '');

export function messageOf(schema: SettingsSchema, ref: string): MessageSchema | undefined {
  return schema.$defs[refName(ref)];
}

function kindOf(schema: SettingsSchema, p: PropertySchema): FieldKind {
  if (p.$ref !== undefined) {
    const m = messageOf(schema, p.$ref);
    return { type: 'message', ref: p.$ref, size: m ? Object.keys(m.properties).length : 0 };
  }
  switch (p.type) {
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      if (p.enum) return { type: 'enum', values: p.enum };
      return p.format === 'duration' ? { type: 'duration' } : { type: 'string' };
    case 'integer':
      return {
        type: 'integer',
        min: p.minimum ?? Number.MIN_SAFE_INTEGER,
        max: p.maximum,
        wide: p.format === 'int64' || p.format === 'uint64',
      };
    case 'number':
      return { type: 'number' };
    case 'array':
      return { type: 'json', shape: 'array' };
    case 'object':
      return { type: 'json', shape: 'object' };
    default:
      return { type: 'json', shape: 'any' };
  }
}

/** The fields of a message, in the proto's order; none when the schema does not hold it. */
export function fieldsOf(schema: SettingsSchema, ref: string = schema.$ref): Field[] {
  const m = messageOf(schema, ref);
  if (!m) return [];
  return Object.entries(m.properties).map(([key, p]) => ({
    key,
    jsonName: p.jsonName,
    kind: kindOf(schema, p),
    oneof: p.oneof,
    deprecated: p.deprecated === true,
  }));
}

/** Whether a set message shows its fields at first: shallow and small ones do. */
export const startsOpen = (depth: number, kind: FieldKind): boolean =>
  kind.type === 'message' && depth <= OPEN_DEPTH && kind.size <= LARGE_MESSAGE;
