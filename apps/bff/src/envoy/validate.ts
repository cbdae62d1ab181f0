/**
 * Settings checked against a message's schema the way Envoy's JSON/YAML parser reads them: field names in
 * snake_case or lowerCamel, `null` as "not set", enums by name or number, 64-bit integers and other
 * integers also as decimal strings, `Any` by its `@type`.
 */
import { closeKeys } from '@governor/crd-types';
import type { MessageSchema, SchemaBuilder, SchemaNode } from './schema';

export interface SettingsIssue {
  /** `abort.percentage.numerator`, `headers[0].name`; empty for the settings themselves. */
  readonly path: string;
  readonly message: string;
  /** The closest known field, enum value or filter. */
  readonly suggestion?: string;
}

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const INTEGER_STRING = /^-?\d+$/;
/** More issues than this and the rest are one more issue: a wrong document need not list them all. */
const MAX_ISSUES = 200;

const join = (path: string, key: string): string =>
  path === '' ? key : /^[A-Za-z_@][\w@]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

export class SettingsValidator {
  readonly issues: SettingsIssue[] = [];
  private depth = 0;

  constructor(private readonly schemas: SchemaBuilder) {}

  private add(issue: SettingsIssue): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push(issue);
    else if (this.issues.length === MAX_ISSUES)
      this.issues.push({ path: '', message: `more than ${MAX_ISSUES} problems: the rest are not listed` });
  }

  /** Checks `value` as a message of `fullName`'s settings. */
  message(value: unknown, fullName: string, path: string): void {
    const type = this.schemas.type(fullName);
    if (!type) return;
    const node = this.schemas.nodeOfMessage(type);
    this.value(value, node, path);
  }

  value(value: unknown, node: SchemaNode, path: string): void {
    if (value === null) return; // protobuf JSON: null leaves a field unset
    // Settings nest far less; a deeper document is refused rather than walked.
    if (this.depth > 64) return this.add({ path, message: 'nested too deep' });
    this.depth++;
    try {
      this.checkValue(value, node, path);
    } finally {
      this.depth--;
    }
  }

  private checkValue(value: unknown, node: SchemaNode, path: string): void {
    if ('$ref' in node) {
      const name = node.$ref.slice('#/$defs/'.length);
      const type = this.schemas.type(name);
      if (type) this.object(value, this.schemas.message(type), path);
      return;
    }
    switch (node.wellKnown) {
      case 'google.protobuf.Value':
        return;
      case 'google.protobuf.Struct':
        if (typeof value !== 'object' || Array.isArray(value))
          this.add({ path, message: `expected an object (a Struct), got ${kindOf(value)}` });
        return;
      case 'google.protobuf.Any':
        return this.any(value, path);
    }
    if (!('type' in node)) return;
    switch (node.type) {
      case 'boolean':
        if (typeof value !== 'boolean')
          this.add({ path, message: `expected true or false, got ${kindOf(value)}` });
        return;
      case 'number':
        if (
          typeof value === 'number' ||
          (typeof value === 'string' && /^(NaN|-?Infinity|-?[\d.eE+-]+)$/.test(value))
        )
          return;
        this.add({ path, message: `expected a number, got ${kindOf(value)}` });
        return;
      case 'integer':
        return this.integer(value, node, path);
      case 'string':
        if (typeof value !== 'string') {
          const what = 'enum' in node ? `one of ${node.enum.join(', ')}` : describeString(node.format);
          if (!('enum' in node) || typeof value !== 'number')
            return this.add({ path, message: `expected ${what}, got ${kindOf(value)}` });
        }
        if ('enum' in node) return this.enumValue(value as string | number, node, path);
        return this.stringFormat(value as string, node.format, path);
      case 'array':
        if (!Array.isArray(value))
          return this.add({ path, message: `expected a list, got ${kindOf(value)}` });
        value.forEach((item, i) => this.value(item, node.items, `${path}[${i}]`));
        return;
      case 'object':
        if ('additionalProperties' in node) {
          if (typeof value !== 'object' || Array.isArray(value))
            return this.add({ path, message: `expected a map (an object), got ${kindOf(value)}` });
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            const keyFormat = node.propertyNames.format;
            if (
              (keyFormat.includes('int') && !INTEGER_STRING.test(k)) ||
              (keyFormat === 'boolean' && !/^(true|false)$/.test(k))
            )
              this.add({
                path: join(path, k),
                message: `a key of this map is ${keyFormat === 'boolean' ? 'true or false' : 'an integer'}`,
              });
            this.value(v, node.additionalProperties, join(path, k));
          }
        }
        return;
    }
  }

  private object(value: unknown, schema: MessageSchema, path: string): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return this.add({ path, message: `expected an object (${schema.title}), got ${kindOf(value)}` });
    const byJson = new Map<string, string>();
    for (const [name, p] of Object.entries(schema.properties)) byJson.set(p.jsonName, name);
    const seen = new Map<string, string>();
    const oneofSet = new Map<string, string>();
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const fieldName = Object.hasOwn(schema.properties, key) ? key : byJson.get(key);
      const at = join(path, key);
      if (fieldName === undefined) {
        const known = [...Object.keys(schema.properties), ...byJson.keys()];
        const [suggestion] = closeKeys(key, known, 1);
        this.add({
          path: at,
          message: `unknown field ${JSON.stringify(key)} of ${schema.title}`,
          ...(suggestion !== undefined ? { suggestion } : {}),
        });
        continue;
      }
      const prior = seen.get(fieldName);
      if (prior !== undefined) {
        this.add({ path: at, message: `${fieldName} is set twice: as ${prior} and as ${key}` });
        continue;
      }
      seen.set(fieldName, key);
      const prop = schema.properties[fieldName]!;
      if (prop.oneof !== undefined && v !== null) {
        const other = oneofSet.get(prop.oneof);
        if (other !== undefined) {
          this.add({
            path: at,
            message: `${key} and ${other} are both set: only one of ${schema.oneofs[prop.oneof]!.join(', ')} may be`,
          });
        } else oneofSet.set(prop.oneof, key);
      }
      this.value(v, prop, at);
    }
  }

  private any(value: unknown, path: string): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return this.add({ path, message: `expected an object with @type (an Any), got ${kindOf(value)}` });
    const { '@type': typeUrl, ...rest } = value as Record<string, unknown>;
    if (typeof typeUrl !== 'string' || typeUrl === '')
      return this.add({
        path: join(path, '@type'),
        message: 'an Any needs @type, the type URL of its message',
      });
    const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const type = this.schemas.type(name);
    // A message the loaded protos do not hold is Envoy's to check.
    if (!type) return;
    const node = this.schemas.nodeOfMessage(type);
    if ('$ref' in node) this.object(rest, this.schemas.message(type), path);
    else this.value(rest['value'], node, join(path, 'value'));
  }

  private integer(value: unknown, node: Extract<SchemaNode, { type: 'integer' }>, path: string): void {
    const n = typeof value === 'string' && INTEGER_STRING.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n))
      return this.add({ path, message: `expected an integer (${node.format}), got ${kindOf(value)}` });
    if (n < node.minimum || (node.maximum !== undefined && n > node.maximum))
      this.add({
        path,
        message: `${n} is out of range for ${node.format} (${node.minimum}…${node.maximum ?? '2^64-1'})`,
      });
  }

  private enumValue(
    value: string | number,
    node: { enum: readonly string[]; enumName: string },
    path: string,
  ): void {
    const type = this.schemas.enumType(node.enumName);
    if (typeof value === 'number') {
      if (type && Object.values(type.values).includes(value)) return;
    } else if (node.enum.includes(value)) return;
    const [suggestion] = typeof value === 'string' ? closeKeys(value, node.enum, 1) : [];
    this.add({
      path,
      message: `${JSON.stringify(value)} is not a value of ${node.enumName}: one of ${node.enum.join(', ')}`,
      ...(suggestion !== undefined ? { suggestion } : {}),
    });
  }

  private stringFormat(value: string, format: string | undefined, path: string): void {
    const ok =
      format === 'duration'
        ? DURATION.test(value)
        : format === 'date-time'
          ? TIMESTAMP.test(value)
          : format === 'byte'
            ? BASE64.test(value)
            : true;
    if (!ok) this.add({ path, message: `expected ${describeString(format)}, got ${JSON.stringify(value)}` });
  }
}

function describeString(format: string | undefined): string {
  switch (format) {
    case 'duration':
      return 'a duration in seconds such as "1s" or "0.5s"';
    case 'date-time':
      return 'an RFC 3339 time such as "2026-01-01T00:00:00Z"';
    case 'byte':
      return 'base64 bytes';
    case 'field-mask':
      return 'a field mask such as "a.b,c"';
    default:
      return 'a string';
  }
}
