/**
 * Settings schemas from Envoy's proto messages, in a JSON-Schema-like shape a form can be built from.
 *
 * A filter's schema is `{ $ref: '#/$defs/<message>', $defs }` where every message of the closure is
 * one `MessageSchema` in `$defs` (messages can be recursive: RBAC's `Permission` holds `Permission`s):
 *
 * - `MessageSchema`: `{ type: 'object', title: <full message name>, properties, oneofs, additionalProperties: false }`.
 *   `properties` are keyed by the proto field name (snake_case, as Envoy's docs and Istio's YAML write
 *   them); each carries its protobuf JSON name in `jsonName` (lowerCamel), which Envoy accepts as well,
 *   `oneof` when it belongs to one, and `deprecated: true` when the proto says so. `oneofs` maps each
 *   oneof to its fields: at most one of them may be set.
 * - scalars: `{type: 'boolean'}`, `{type: 'string'}`, bytes as `{type: 'string', format: 'byte'}` (base64),
 *   `{type: 'number', format: 'double'|'float'}`, `{type: 'integer', format, minimum, maximum}` where
 *   `format` is the proto type (`int32`, `uint32`, `int64`, `uint64`); 64-bit integers may also be written
 *   as decimal strings, as protobuf JSON allows.
 * - enums: `{type: 'string', enum: [value names], enumName}`; the values' numbers are accepted too.
 * - `repeated`: `{type: 'array', items}`; maps: `{type: 'object', additionalProperties: <value>, propertyNames: {format: <key type>}}`.
 * - nested messages: `{$ref: '#/$defs/<full name>'}`.
 * - well-known types, each with `wellKnown: <full name>`: `Duration` as `{type: 'string', format: 'duration'}`
 *   ("1s", "0.5s"), `Timestamp` (`date-time`), `FieldMask` (`field-mask`), `Struct` (any JSON object),
 *   `Value` (any JSON), `ListValue` (an array), `Any` (an object with `@type`, the type URL, and the
 *   fields of that message), and the wrappers (`UInt32Value`, `BoolValue`, …) as their plain value.
 *   Envoy's `Percent` and `FractionalPercent` (with its `denominator` enum) are ordinary messages.
 */
import type { Enum, Field, Root, Type } from 'protobufjs';
import { protobufjs } from './proto-roots';

export type IntegerFormat = 'int32' | 'uint32' | 'int64' | 'uint64';

export type SchemaNode = (
  | { readonly $ref: string }
  | { readonly type: 'boolean' }
  | { readonly type: 'string'; readonly format?: 'byte' | 'duration' | 'date-time' | 'field-mask' }
  | { readonly type: 'string'; readonly enum: readonly string[]; readonly enumName: string }
  | { readonly type: 'number'; readonly format: 'double' | 'float' }
  | {
      readonly type: 'integer';
      readonly format: IntegerFormat;
      readonly minimum: number;
      readonly maximum?: number;
    }
  | { readonly type: 'array'; readonly items: SchemaNode }
  | {
      readonly type: 'object';
      readonly additionalProperties: SchemaNode;
      readonly propertyNames: { readonly format: IntegerFormat | 'string' | 'boolean' };
    }
  | { readonly type: 'object'; readonly wellKnown: 'google.protobuf.Struct' | 'google.protobuf.Any' }
  | { readonly wellKnown: 'google.protobuf.Value' }
) & { readonly wellKnown?: string };

export type PropertySchema = SchemaNode & {
  readonly jsonName: string;
  readonly oneof?: string;
  readonly deprecated?: true;
};

export interface MessageSchema {
  readonly type: 'object';
  readonly title: string;
  readonly properties: Readonly<Record<string, PropertySchema>>;
  readonly oneofs: Readonly<Record<string, readonly string[]>>;
  readonly additionalProperties: false;
}

export interface SettingsSchema {
  readonly $ref: string;
  readonly $defs: Readonly<Record<string, MessageSchema>>;
}

const INT32 = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
const UINT32 = { minimum: 0, maximum: 2 ** 32 - 1 };

const SCALARS: Readonly<Record<string, SchemaNode>> = {
  double: { type: 'number', format: 'double' },
  float: { type: 'number', format: 'float' },
  int32: { type: 'integer', format: 'int32', ...INT32 },
  sint32: { type: 'integer', format: 'int32', ...INT32 },
  sfixed32: { type: 'integer', format: 'int32', ...INT32 },
  uint32: { type: 'integer', format: 'uint32', ...UINT32 },
  fixed32: { type: 'integer', format: 'uint32', ...UINT32 },
  int64: { type: 'integer', format: 'int64', minimum: Number.MIN_SAFE_INTEGER },
  sint64: { type: 'integer', format: 'int64', minimum: Number.MIN_SAFE_INTEGER },
  sfixed64: { type: 'integer', format: 'int64', minimum: Number.MIN_SAFE_INTEGER },
  uint64: { type: 'integer', format: 'uint64', minimum: 0 },
  fixed64: { type: 'integer', format: 'uint64', minimum: 0 },
  bool: { type: 'boolean' },
  string: { type: 'string' },
  bytes: { type: 'string', format: 'byte' },
};

/** Messages whose JSON is not an object of their fields. */
const WELL_KNOWN: Readonly<Record<string, SchemaNode>> = {
  'google.protobuf.Duration': { type: 'string', format: 'duration', wellKnown: 'google.protobuf.Duration' },
  'google.protobuf.Timestamp': {
    type: 'string',
    format: 'date-time',
    wellKnown: 'google.protobuf.Timestamp',
  },
  'google.protobuf.FieldMask': {
    type: 'string',
    format: 'field-mask',
    wellKnown: 'google.protobuf.FieldMask',
  },
  'google.protobuf.Struct': { type: 'object', wellKnown: 'google.protobuf.Struct' },
  'google.protobuf.Value': { wellKnown: 'google.protobuf.Value' },
  'google.protobuf.ListValue': {
    type: 'array',
    items: { wellKnown: 'google.protobuf.Value' },
    wellKnown: 'google.protobuf.ListValue',
  },
  'google.protobuf.Any': { type: 'object', wellKnown: 'google.protobuf.Any' },
  ...Object.fromEntries(
    (
      [
        ['DoubleValue', 'double'],
        ['FloatValue', 'float'],
        ['Int64Value', 'int64'],
        ['UInt64Value', 'uint64'],
        ['Int32Value', 'int32'],
        ['UInt32Value', 'uint32'],
        ['BoolValue', 'bool'],
        ['StringValue', 'string'],
        ['BytesValue', 'bytes'],
      ] as const
    ).map(([name, scalar]) => [
      `google.protobuf.${name}`,
      { ...SCALARS[scalar]!, wellKnown: `google.protobuf.${name}` } as SchemaNode,
    ]),
  ),
};

/** The name protoc gives a field in JSON: underscores dropped, the letter after each capitalised. */
export function jsonNameOf(protoName: string): string {
  return protoName.replace(/_+([a-z0-9])?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

export const fullNameOf = (t: Type | Enum): string => t.fullName.replace(/^\./, '');

/** Message schemas built on demand from one loaded root, each once. */
export class SchemaBuilder {
  private readonly defs = new Map<string, MessageSchema>();

  constructor(private readonly root: Root) {}

  /** A message by its full name, or undefined when the loaded protos do not hold it. */
  type(fullName: string): Type | undefined {
    try {
      return this.root.lookupType(fullName);
    } catch {
      return undefined;
    }
  }

  /** An enum by its full name. */
  enumType(fullName: string): Enum | undefined {
    try {
      return this.root.lookupEnum(fullName);
    } catch {
      return undefined;
    }
  }

  /** The node for a value of `type`: a well-known type's own JSON form, else a reference. */
  nodeOfMessage(type: Type): SchemaNode {
    const name = fullNameOf(type);
    return WELL_KNOWN[name] ?? { $ref: `#/$defs/${name}` };
  }

  /** The schema of one message (not following its references). */
  message(type: Type): MessageSchema {
    const name = fullNameOf(type);
    const known = this.defs.get(name);
    if (known) return known;
    const properties: Record<string, PropertySchema> = {};
    const oneofs: Record<string, string[]> = {};
    for (const oneof of type.oneofsArray) {
      // proto3 `optional` makes a synthetic oneof of one field: not a choice.
      if (oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]!.options?.proto3_optional) continue;
      oneofs[oneof.name] = oneof.fieldsArray.map((f) => f.name);
    }
    for (const field of type.fieldsArray) {
      field.resolve();
      const oneof = field.partOf && oneofs[field.partOf.name] ? field.partOf.name : undefined;
      properties[field.name] = {
        ...this.nodeOfField(field),
        jsonName: (field.options?.json_name as string | undefined) ?? jsonNameOf(field.name),
        ...(oneof ? { oneof } : {}),
        ...(field.options?.deprecated ? { deprecated: true as const } : {}),
      };
    }
    const schema: MessageSchema = {
      type: 'object',
      title: name,
      properties,
      oneofs,
      additionalProperties: false,
    };
    this.defs.set(name, schema);
    return schema;
  }

  /** A message's schema with every message it reaches. */
  settingsSchema(type: Type): SettingsSchema {
    const $defs: Record<string, MessageSchema> = {};
    const pending = [type];
    while (pending.length > 0) {
      const t = pending.pop()!;
      const name = fullNameOf(t);
      if ($defs[name] || WELL_KNOWN[name]) continue;
      $defs[name] = this.message(t);
      for (const f of t.fieldsArray) {
        f.resolve();
        if (f.resolvedType instanceof protobufjs().Type) pending.push(f.resolvedType);
      }
    }
    return { $ref: `#/$defs/${fullNameOf(type)}`, $defs };
  }

  private nodeOfValue(field: Field, typeName: string): SchemaNode {
    const resolved = field.resolvedType;
    const { Enum, Type } = protobufjs();
    if (resolved instanceof Type) return this.nodeOfMessage(resolved);
    if (resolved instanceof Enum) {
      const enumName = fullNameOf(resolved);
      if (enumName === 'google.protobuf.NullValue') return { wellKnown: 'google.protobuf.Value' };
      return { type: 'string', enum: Object.keys(resolved.values), enumName };
    }
    return SCALARS[typeName] ?? { type: 'string' };
  }

  private nodeOfField(field: Field): SchemaNode {
    if (field instanceof protobufjs().MapField) {
      const key = SCALARS[field.keyType];
      const format =
        key && 'type' in key && key.type === 'integer'
          ? key.format
          : key && 'type' in key && key.type === 'boolean'
            ? 'boolean'
            : 'string';
      return {
        type: 'object',
        additionalProperties: this.nodeOfValue(field, field.type),
        propertyNames: { format },
      };
    }
    const node = this.nodeOfValue(field, field.type);
    return field.repeated ? { type: 'array', items: node } : node;
  }
}
