/**
 * Strict validation of Envoy configuration written as JSON/YAML, for tests.
 *
 * Governor renders Envoy configuration (EnvoyFilter patches, route `rate_limits`, filter configs) as plain
 * JSON-shaped objects. This module judges such objects the way Envoy would: against Envoy's own .proto
 * definitions (shipped with `@grpc/grpc-js-xds`), using the proto3 JSON mapping without any leniency, and
 * then applying the protoc-gen-validate (PGV) rules those protos declare.
 *
 * Structural checks (proto3 JSON mapping):
 * - every key is a field of the message, by proto name (`token_bucket`) or JSON name (`tokenBucket`);
 *   the same field given twice (in both spellings) is an issue; `null` means "not set";
 * - scalars: 32-bit integers as integral numbers in range (or decimal strings), 64-bit integers as numbers
 *   or decimal strings in range, float/double as numbers (or "NaN"/"Infinity"/"-Infinity"/numeric strings),
 *   bool as `true`/`false`, string as string (well-formed UTF-16), bytes as (URL-safe) base64;
 * - enums: a value name or number that the enum defines;
 * - repeated → array, map → object (keys checked against the key type), oneof: at most one member set;
 * - well-known types: Duration as a string (`"1s"`, `"0.5s"`; the `{seconds, nanos}` object form is an
 *   issue), Timestamp as an RFC 3339 string, FieldMask as a string, wrappers as the bare scalar,
 *   Struct/Value/ListValue as arbitrary JSON of the right shape, Any as `{"@type": ".../<full.type.Name>", ...}`
 *   whose remaining keys are validated against the named type (`{"@type", "value"}` for well-known types);
 * - `udpa.type.v1.TypedStruct` / `xds.type.v3.TypedStruct`: `value` is validated against the type named by
 *   `type_url`, as Envoy does when it converts the struct into the filter's configuration.
 *
 * PGV rules checked (`(validate.rules)` on fields, `(validate.required)` on oneofs, `(validate.disabled)` /
 * `(validate.ignored)` on messages turn the rules off for that message):
 * - message: `required`;
 * - numeric (all integer kinds, float, double; also applied to the matching wrapper type when set):
 *   `const`, `lt`, `lte`, `gt`, `gte` (including PGV's exclusive ranges), `in`, `not_in`, `ignore_empty`;
 * - bool: `const`;
 * - string: `const`, `len`, `min_len`, `max_len`, `len_bytes`, `min_bytes`, `max_bytes`, `pattern`,
 *   `prefix`, `suffix`, `contains`, `not_contains`, `in`, `not_in`, `email`, `hostname`, `ip`, `ipv4`,
 *   `ipv6`, `uri`, `address`, `uuid`, `well_known_regex` (HTTP header name/value, with `strict`),
 *   `ignore_empty`;
 * - bytes: `const`, `len`, `min_len`, `max_len`, `prefix`, `suffix`, `contains`, `in`, `not_in`,
 *   `ignore_empty`;
 * - enum: `const`, `defined_only`, `in`, `not_in`;
 * - repeated: `min_items`, `max_items`, `unique`, `items` (any of the above), `ignore_empty`;
 * - map: `min_pairs`, `max_pairs`, `keys`, `values`, `ignore_empty`;
 * - duration: `required`, `const`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`;
 * - timestamp: `required`, `const`, `lt`, `lte`, `gt`, `gte`;
 * - any: `required`, `in`, `not_in`.
 * Not checked (skipped silently): `message.skip`, `string.uri_ref`, `bytes.pattern`/`ip*`,
 * `timestamp.lt_now`/`gt_now`/`within`, `map.no_sparse` (JSON maps cannot be sparse; null values are
 * reported structurally). Scalar rules apply to the default value when a field without presence is absent
 * (so a missing `max_tokens` fails `gt: 0`), as PGV does. Deprecation and `udpa`/`xds` annotations are
 * ignored: a deprecated field is still a valid field.
 *
 * Issue paths use proto field names whatever spelling the input used, e.g.
 * `descriptors[0].token_bucket.max_tokens`, `[i]` for list elements and `["key"]` for map entries; the
 * root is the empty path. Unknown keys are reported under the key as written.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join as joinPath } from 'node:path';
import { Enum, MapField, Root, Type } from 'protobufjs';
import type { Field, OneOf } from 'protobufjs';
import { parse as parseYaml } from 'yaml';

export interface EnvoyValidationIssue {
  /** Where the problem is, e.g. `descriptors[0].token_bucket.max_tokens`; `''` is the value itself. */
  readonly path: string;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------------------
// Loading the protos
// ---------------------------------------------------------------------------------------------------------

/** The .proto files loaded up front; anything else is loaded on demand when a type name needs it. */
const ENTRY_FILES = [
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
  'envoy/config/route/v3/route_components.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
  'envoy/service/ratelimit/v3/rls.proto',
];

const LOAD_OPTIONS = { keepCase: true };

const requireHere = createRequire(import.meta.url);

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Import roots: every folder under grpc-js-xds's `deps/`, then protobufjs (for google/protobuf/descriptor.proto). */
function importRoots(): string[] {
  const deps = joinPath(dirname(requireHere.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const preferred = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'];
  const found = readdirSync(deps)
    .map((name) => joinPath(deps, name))
    .filter(isDirectory)
    .sort((a, b) => rank(a) - rank(b));
  function rank(dir: string): number {
    const i = preferred.findIndex((p) => dir.endsWith(p));
    return i === -1 ? preferred.length : i;
  }
  return [...found, dirname(requireHere.resolve('protobufjs/package.json'))];
}

interface Loaded {
  readonly root: Root;
  readonly roots: readonly string[];
  /** Type names already looked for on disk, found or not. */
  readonly searched: Set<string>;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const roots = importRoots();
  const root = new Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    for (const dir of roots) {
      const candidate = joinPath(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    throw new Error(`envoy-proto: cannot find "${target}" under ${roots.join(', ')}`);
  };
  root.loadSync(ENTRY_FILES, LOAD_OPTIONS);
  loaded = { root, roots, searched: new Set() };
  return loaded;
}

/** The protobufjs root holding Envoy's protos (loaded once, proto field names kept as declared). */
export function envoyProtoRoot(): Root {
  return load().root;
}

function normalizeTypeName(typeName: string): string {
  const slash = typeName.lastIndexOf('/');
  const name = slash >= 0 ? typeName.slice(slash + 1) : typeName;
  return name.startsWith('.') ? name.slice(1) : name;
}

function lookupLoaded(root: Root, name: string): Type | undefined {
  const found = root.lookup(`.${name}`);
  return found instanceof Type ? found : undefined;
}

/**
 * Finds a message type by full name, loading the .proto files of its package folder on first use
 * (so an Any can name any Envoy/xDS type, not only those loaded up front).
 */
function findMessageType(name: string): Type | undefined {
  const state = load();
  const hit = lookupLoaded(state.root, name);
  if (hit || state.searched.has(name)) return hit;
  state.searched.add(name);
  const parts = name.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const rel = parts.slice(0, i).join('/');
    for (const dir of state.roots) {
      const folder = joinPath(dir, rel);
      if (!isDirectory(folder)) continue;
      const files = readdirSync(folder)
        .filter((f) => f.endsWith('.proto'))
        .map((f) => `${rel}/${f}`);
      if (files.length === 0) continue;
      try {
        state.root.loadSync(files, LOAD_OPTIONS);
      } catch {
        // A folder that does not parse simply does not provide the type.
      }
      const found = lookupLoaded(state.root, name);
      if (found) return found;
    }
  }
  return undefined;
}

/** The message type for a full name (`envoy.type.v3.TokenBucket`, optionally `type.googleapis.com/`-prefixed). */
export function lookupEnvoyMessageType(typeName: string): Type {
  const type = findMessageType(normalizeTypeName(typeName));
  if (!type) throw new Error(`envoy-proto: unknown message type "${typeName}"`);
  return type;
}

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/** Validates a JSON-shaped value as the given Envoy message type. An empty array means valid. */
export function validateEnvoyJson(typeName: string, value: unknown): EnvoyValidationIssue[] {
  const type = lookupEnvoyMessageType(typeName);
  const checker = new Checker();
  checker.message(type, value, '', 0);
  return checker.issues;
}

/** Parses YAML and validates the result as the given Envoy message type. */
export function validateEnvoyYaml(typeName: string, yamlText: string): EnvoyValidationIssue[] {
  return validateEnvoyJson(typeName, parseYaml(yamlText) as unknown);
}

export function formatEnvoyIssues(issues: readonly EnvoyValidationIssue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '<root>' : i.path}: ${i.message}`).join('\n');
}

/** Throws an Error listing every issue when the value is not a valid instance of the type. */
export function assertValidEnvoyJson(typeName: string, value: unknown): void {
  const issues = validateEnvoyJson(typeName, value);
  if (issues.length > 0) {
    const n = issues.length;
    throw new Error(
      `Invalid ${normalizeTypeName(typeName)} (${n} issue${n === 1 ? '' : 's'}):\n${formatEnvoyIssues(issues)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

/** A checked scalar: integers as bigint, float/double and enums as number. */
type Scalar = bigint | number | string | boolean | Uint8Array;

interface MessageValue {
  readonly kind: 'message';
  readonly json: unknown;
  /** Wrapper types: the wrapped scalar. */
  readonly inner?: Scalar;
  /** Duration (length) and Timestamp (since the epoch), in nanoseconds. */
  readonly nanos?: bigint;
  /** Any: the type URL ('' for an empty Any). */
  readonly typeUrl?: string;
}

type Value = Scalar | MessageValue;

interface ListValue {
  readonly kind: 'list';
  readonly items: readonly (Value | undefined)[];
}

interface MapValue {
  readonly kind: 'map';
  readonly entries: readonly (readonly [Scalar | undefined, Value | undefined])[];
}

type FieldValue = Value | ListValue | MapValue;

/** What a single (non-repeated) value is typed as: a field, a list element, a map key or value. */
interface ValueType {
  readonly type: string;
  readonly resolvedType: Type | Enum | null;
}

function isObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isMessageValue(v: FieldValue | undefined): v is MessageValue {
  return typeof v === 'object' && !(v instanceof Uint8Array) && v.kind === 'message';
}

function isScalar(v: FieldValue | undefined): v is Scalar {
  return v !== undefined && (typeof v !== 'object' || v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return `${typeof v} ${String(v)}`;
  if (isObject(v)) return 'an object';
  return `a non-JSON ${typeof v}`;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

// ---------------------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------------------

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const FLOAT_KINDS = new Set(['float', 'double']);
const FLOAT_MAX = 3.4028234663852886e38;
const DECIMAL_INT = /^-?\d+$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9\-_]*)={0,2}$/;
const LONE_SURROGATE = /\p{Cs}/u;

type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

function checkInteger(kind: string, v: unknown): Checked<bigint> {
  const range = INT_RANGES[kind];
  if (!range) return { ok: false, message: `unsupported integer kind ${kind}` };
  const wide = kind.endsWith('64');
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || !Number.isInteger(v))
      return { ok: false, message: `expected an integral ${kind}, got ${describe(v)}` };
    n = BigInt(v);
  } else if (typeof v === 'string' && DECIMAL_INT.test(v)) {
    n = BigInt(v);
  } else {
    const form = wide ? 'a JSON number or decimal string' : 'an integral JSON number';
    return { ok: false, message: `expected ${kind} (${form}), got ${describe(v)}` };
  }
  if (n < range[0] || n > range[1]) return { ok: false, message: `${kind} out of range: ${String(n)}` };
  return { ok: true, value: n };
}

function checkFloat(kind: string, v: unknown): Checked<number> {
  let n: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      return { ok: false, message: `expected ${kind}, got a non-JSON number ${String(v)}` };
    n = v;
  } else if (typeof v === 'string' && (v === 'NaN' || v === 'Infinity' || v === '-Infinity')) {
    return { ok: true, value: Number(v) };
  } else if (typeof v === 'string' && JSON_NUMBER.test(v)) {
    n = Number(v);
    if (!Number.isFinite(n)) return { ok: false, message: `${kind} out of range: ${v}` };
  } else {
    return { ok: false, message: `expected ${kind} (a JSON number), got ${describe(v)}` };
  }
  if (kind === 'float' && Math.abs(n) > FLOAT_MAX)
    return { ok: false, message: `float out of range: ${String(n)}` };
  return { ok: true, value: n };
}

function checkScalar(kind: string, v: unknown): Checked<Scalar> {
  if (kind in INT_RANGES) return checkInteger(kind, v);
  if (FLOAT_KINDS.has(kind)) return checkFloat(kind, v);
  switch (kind) {
    case 'bool':
      return typeof v === 'boolean'
        ? { ok: true, value: v }
        : { ok: false, message: `expected bool (true/false), got ${describe(v)}` };
    case 'string':
      if (typeof v !== 'string') return { ok: false, message: `expected string, got ${describe(v)}` };
      if (LONE_SURROGATE.test(v)) return { ok: false, message: 'string is not valid UTF-8 (lone surrogate)' };
      return { ok: true, value: v };
    case 'bytes': {
      if (typeof v !== 'string')
        return { ok: false, message: `expected bytes (a base64 string), got ${describe(v)}` };
      const unpadded = v.replace(/=+$/, '');
      if (
        !BASE64.test(v) ||
        unpadded.length % 4 === 1 ||
        (v.length !== unpadded.length && v.length % 4 !== 0)
      ) {
        return { ok: false, message: `expected bytes as base64, got ${describe(v)}` };
      }
      return { ok: true, value: new Uint8Array(Buffer.from(v, 'base64')) };
    }
    default:
      return { ok: false, message: `unsupported scalar type ${kind}` };
  }
}

function checkMapKey(kind: string, key: string): Checked<Scalar> {
  if (kind === 'string') return { ok: true, value: key };
  if (kind === 'bool') {
    return key === 'true' || key === 'false'
      ? { ok: true, value: key === 'true' }
      : { ok: false, message: `map key must be "true" or "false", got ${JSON.stringify(key)}` };
  }
  if (kind in INT_RANGES) {
    if (!DECIMAL_INT.test(key))
      return { ok: false, message: `map key must be a decimal ${kind}, got ${JSON.stringify(key)}` };
    return checkInteger(kind, key);
  }
  return { ok: false, message: `unsupported map key type ${kind}` };
}

function defaultScalar(t: ValueType): Scalar {
  if (t.resolvedType instanceof Enum) return 0;
  if (t.type in INT_RANGES) return 0n;
  if (FLOAT_KINDS.has(t.type)) return 0;
  if (t.type === 'bool') return false;
  if (t.type === 'bytes') return new Uint8Array();
  return '';
}

// ---------------------------------------------------------------------------------------------------------
// Well-known types
// ---------------------------------------------------------------------------------------------------------

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Well-known types whose JSON form is not a plain object of fields (inside an Any they use `"value"`). */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  'google.protobuf.Any',
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
]);

const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

const MAX_DURATION_SECONDS = 315_576_000_000n;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function fractionNanos(fraction: string | undefined): bigint {
  return fraction === undefined ? 0n : BigInt(fraction.padEnd(9, '0'));
}

function parseDuration(v: unknown): Checked<bigint> {
  if (isObject(v)) {
    return {
      ok: false,
      message:
        'google.protobuf.Duration must be a string like "1s" or "0.5s" (proto3 JSON); Envoy rejects the {seconds, nanos} object form',
    };
  }
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  if (!m)
    return {
      ok: false,
      message: `expected google.protobuf.Duration as a string like "1s" or "0.5s", got ${describe(v)}`,
    };
  const seconds = BigInt(m[2] ?? '0');
  if (seconds > MAX_DURATION_SECONDS) return { ok: false, message: `duration out of range: ${String(v)}` };
  const nanos = seconds * 1_000_000_000n + fractionNanos(m[3]);
  return { ok: true, value: m[1] ? -nanos : nanos };
}

function parseTimestamp(v: unknown): Checked<bigint> {
  const m = typeof v === 'string' ? TIMESTAMP.exec(v) : null;
  const millis = m ? Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`) : Number.NaN;
  if (!m || Number.isNaN(millis)) {
    return {
      ok: false,
      message: `expected google.protobuf.Timestamp as an RFC 3339 string, got ${describe(v)}`,
    };
  }
  return { ok: true, value: BigInt(millis) * 1_000_000n + fractionNanos(m[2]) };
}

function showNanos(n: bigint): string {
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${String(abs / 1_000_000_000n)}${frac ? `.${frac}` : ''}s`;
}

/** Why a value is not JSON (as Struct/Value content), or undefined when it is. */
function nonJson(v: unknown, path: string, depth: number): { path: string; message: string } | undefined {
  if (depth > 100) return { path, message: 'value nested too deeply' };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number')
    return Number.isFinite(v) ? undefined : { path, message: `${String(v)} is not a JSON number` };
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) {
      const bad = nonJson(item, `${path}[${i}]`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  if (isObject(v)) {
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined) continue;
      const bad = nonJson(item, join(path, k), depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  return { path, message: `${describe(v)} is not a JSON value` };
}

// ---------------------------------------------------------------------------------------------------------
// Reflection helpers
// ---------------------------------------------------------------------------------------------------------

type Rules = Record<string, unknown>;

function typeName(t: Type | Enum): string {
  return t.fullName.replace(/^\./, '');
}

function protocJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const c of name) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

const fieldIndexes = new WeakMap<Type, Map<string, Field>>();

function fieldIndex(type: Type): Map<string, Field> {
  let index = fieldIndexes.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      const declared: unknown = field.options?.['json_name'];
      const jsonName =
        typeof declared === 'string'
          ? declared
          : typeof field.jsonName === 'string'
            ? field.jsonName
            : protocJsonName(field.name);
      index.set(jsonName, field);
    }
    fieldIndexes.set(type, index);
  }
  return index;
}

function deepMerge(into: Rules, from: Rules): Rules {
  for (const [k, v] of Object.entries(from)) {
    const prev = into[k];
    into[k] = isObject(prev) && isObject(v) ? deepMerge({ ...prev }, v) : v;
  }
  return into;
}

const RULES_OPTION = '(validate.rules)';
const fieldRulesCache = new WeakMap<Field, Rules | null>();

function pgvRules(field: Field): Rules | undefined {
  let rules = fieldRulesCache.get(field);
  if (rules === undefined) {
    rules = null;
    for (const option of field.parsedOptions ?? []) {
      const value: unknown = (option as Record<string, unknown>)[RULES_OPTION];
      if (isObject(value)) rules = deepMerge(rules ?? {}, value);
    }
    fieldRulesCache.set(field, rules);
  }
  return rules ?? undefined;
}

function hasOption(target: Field | OneOf | Type, name: string): boolean {
  if (target.options?.[name] === true) return true;
  return (target.parsedOptions ?? []).some((o) => (o as Record<string, unknown>)[name] === true);
}

function sub(rules: Rules, key: string): Rules | undefined {
  const v = rules[key];
  return isObject(v) ? v : undefined;
}

function acceptsNull(t: ValueType): boolean {
  const resolved = t.resolvedType;
  return (
    resolved !== null &&
    (typeName(resolved) === 'google.protobuf.Value' || typeName(resolved) === 'google.protobuf.NullValue')
  );
}

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && DECIMAL_INT.test(v)) return BigInt(v);
  return undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function durationRuleNanos(v: unknown): bigint | undefined {
  if (!isObject(v)) return undefined;
  const seconds = toBigInt(v['seconds'] ?? 0);
  const nanos = toBigInt(v['nanos'] ?? 0);
  return seconds === undefined || nanos === undefined ? undefined : seconds * 1_000_000_000n + nanos;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function bytesIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

function ruleBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'utf8'));
  return undefined;
}

function ruleList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

function isHeaderValueStrict(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c === 0x7f) return false;
  }
  return true;
}

function isHeaderStringLoose(s: string): boolean {
  return !s.includes('\0') && !s.includes('\n') && !s.includes('\r');
}

function isHostname(s: string): boolean {
  const host = s.endsWith('.') ? s.slice(0, -1) : s;
  if (host.length === 0 || host.length > 253) return false;
  return host
    .toLowerCase()
    .split('.')
    .every((label) => label.length <= 63 && HOST_LABEL.test(label));
}

function isEmail(s: string): boolean {
  const at = s.lastIndexOf('@');
  if (at <= 0 || s.length > 254) return false;
  const local = s.slice(0, at);
  return local.length <= 64 && !/\s/.test(local) && isHostname(s.slice(at + 1));
}

function isAbsoluteUri(s: string): boolean {
  try {
    return new URL(s).protocol !== '';
  } catch {
    return false;
  }
}

const patternCache = new Map<string, RegExp | null>();

function compilePattern(pattern: string): RegExp | null {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = null; // RE2 syntax JavaScript cannot express: not checked.
    }
    patternCache.set(pattern, re);
  }
  return re;
}

// ---------------------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------------------

const MAX_DEPTH = 64;

class Checker {
  readonly issues: EnvoyValidationIssue[] = [];

  private report(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  message(type: Type, json: unknown, path: string, depth: number): MessageValue | undefined {
    const name = typeName(type);
    if (depth > MAX_DEPTH) {
      this.report(path, `configuration nested more than ${MAX_DEPTH} messages deep`);
      return undefined;
    }
    if (SPECIAL_JSON.has(name)) return this.wellKnown(name, json, path, depth);
    if (!isObject(json)) {
      this.report(path, `expected a JSON object for ${name}, got ${describe(json)}`);
      return undefined;
    }

    const index = fieldIndex(type);
    const given = new Map<Field, { key: string; value: unknown }>();
    for (const [key, value] of Object.entries(json)) {
      if (value === undefined) continue;
      const field = index.get(key);
      if (!field) {
        this.report(join(path, key), `unknown field "${key}" in ${name}`);
        continue;
      }
      const previous = given.get(field);
      if (previous) {
        this.report(
          join(path, field.name),
          `field ${field.name} given twice (as "${previous.key}" and "${key}")`,
        );
        continue;
      }
      given.set(field, { key, value });
    }

    const rulesOn = !hasOption(type, '(validate.disabled)') && !hasOption(type, '(validate.ignored)');
    const set = new Set<Field>();
    for (const field of type.fieldsArray) {
      const entry = given.get(field);
      const fieldPath = join(path, field.name);
      const isSet = entry !== undefined && (entry.value !== null || (!field.repeated && acceptsNull(field)));
      let value: FieldValue | undefined;
      if (isSet) {
        set.add(field);
        value = this.fieldValue(field, entry.value, fieldPath, depth);
      } else if (field.required) {
        this.report(fieldPath, `required field ${field.name} is missing`);
      }
      if (rulesOn) this.fieldRules(field, isSet, value, fieldPath);
    }

    for (const oneof of type.oneofsArray) {
      if (oneof.isProto3Optional) continue;
      const members = oneof.fieldsArray.filter((f) => set.has(f));
      if (members.length > 1) {
        this.report(
          path,
          `at most one of oneof ${oneof.name} may be set, got ${members.map((f) => f.name).join(', ')}`,
        );
      } else if (members.length === 0 && rulesOn && hasOption(oneof, '(validate.required)')) {
        this.report(
          path,
          `oneof ${oneof.name} is required: set one of ${oneof.fieldsArray.map((f) => f.name).join(', ')}`,
        );
      }
    }

    if (TYPED_STRUCTS.has(name)) this.typedStruct(type, given, path, depth);
    return { kind: 'message', json };
  }

  private typedStruct(
    type: Type,
    given: Map<Field, { key: string; value: unknown }>,
    path: string,
    depth: number,
  ): void {
    const urlField = type.fields['type_url'];
    const valueField = type.fields['value'];
    const url = urlField ? given.get(urlField)?.value : undefined;
    const value = valueField ? given.get(valueField)?.value : undefined;
    if (typeof url !== 'string' || url === '') {
      if (url === undefined || url === null || url === '')
        this.report(join(path, 'type_url'), 'TypedStruct.type_url must name the configuration type');
      return;
    }
    const target = findMessageType(normalizeTypeName(url));
    if (!target) {
      this.report(join(path, 'type_url'), `unknown type "${normalizeTypeName(url)}" in TypedStruct.type_url`);
      return;
    }
    if (value === undefined || value === null) this.message(target, {}, join(path, 'value'), depth + 1);
    else if (isObject(value)) this.message(target, value, join(path, 'value'), depth + 1);
  }

  private wellKnown(name: string, json: unknown, path: string, depth: number): MessageValue | undefined {
    const wrapped = WRAPPERS[name];
    if (wrapped !== undefined) {
      const checked = checkScalar(wrapped, json);
      if (!checked.ok) return this.fail(path, `${name}: ${checked.message}`);
      return { kind: 'message', json, inner: checked.value };
    }
    switch (name) {
      case 'google.protobuf.Duration': {
        const checked = parseDuration(json);
        return checked.ok
          ? { kind: 'message', json, nanos: checked.value }
          : this.fail(path, checked.message);
      }
      case 'google.protobuf.Timestamp': {
        const checked = parseTimestamp(json);
        return checked.ok
          ? { kind: 'message', json, nanos: checked.value }
          : this.fail(path, checked.message);
      }
      case 'google.protobuf.FieldMask':
        return typeof json === 'string'
          ? { kind: 'message', json }
          : this.fail(path, `expected google.protobuf.FieldMask as a string, got ${describe(json)}`);
      case 'google.protobuf.Struct':
        if (!isObject(json))
          return this.fail(path, `expected google.protobuf.Struct (a JSON object), got ${describe(json)}`);
        return this.jsonContent(json, path);
      case 'google.protobuf.ListValue':
        if (!Array.isArray(json))
          return this.fail(path, `expected google.protobuf.ListValue (a JSON array), got ${describe(json)}`);
        return this.jsonContent(json, path);
      case 'google.protobuf.Value':
        return this.jsonContent(json, path);
      case 'google.protobuf.Any':
        return this.any(json, path, depth);
      default:
        return this.fail(path, `unsupported well-known type ${name}`);
    }
  }

  private fail(path: string, message: string): undefined {
    this.report(path, message);
    return undefined;
  }

  private jsonContent(json: unknown, path: string): MessageValue | undefined {
    const bad = nonJson(json, path, 0);
    return bad ? this.fail(bad.path, bad.message) : { kind: 'message', json };
  }

  private any(json: unknown, path: string, depth: number): MessageValue | undefined {
    if (!isObject(json))
      return this.fail(
        path,
        `expected google.protobuf.Any (a JSON object with "@type"), got ${describe(json)}`,
      );
    const entries = Object.entries(json).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return { kind: 'message', json, typeUrl: '' };
    const typePath = join(path, '@type');
    const url = json['@type'];
    if (typeof url !== 'string') {
      return this.fail(
        typePath,
        url === undefined
          ? 'a non-empty google.protobuf.Any needs "@type"'
          : `"@type" must be a string, got ${describe(url)}`,
      );
    }
    const slash = url.lastIndexOf('/');
    const name = url.slice(slash + 1);
    if (slash < 0 || name === '')
      return this.fail(
        typePath,
        `invalid type URL ${JSON.stringify(url)}: expected "type.googleapis.com/<full.type.Name>"`,
      );
    const type = findMessageType(name);
    if (!type) return this.fail(typePath, `unknown type "${name}" in "@type"`);
    const rest: JsonObject = Object.fromEntries(entries.filter(([k]) => k !== '@type'));
    if (SPECIAL_JSON.has(typeName(type))) {
      for (const key of Object.keys(rest)) {
        if (key !== 'value')
          this.report(
            join(path, key),
            `unknown field "${key}" in an Any holding ${name}: only "value" is allowed`,
          );
      }
      if (!('value' in rest)) this.report(join(path, 'value'), `an Any holding ${name} needs "value"`);
      else this.message(type, rest['value'], join(path, 'value'), depth + 1);
    } else {
      this.message(type, rest, path, depth + 1);
    }
    return { kind: 'message', json, typeUrl: url };
  }

  private single(t: ValueType, json: unknown, path: string, depth: number): Value | undefined {
    const resolved = t.resolvedType;
    if (resolved instanceof Type) return this.message(resolved, json, path, depth + 1);
    if (resolved instanceof Enum) return this.enumValue(resolved, json, path);
    const checked = checkScalar(t.type, json);
    return checked.ok ? checked.value : this.fail(path, checked.message);
  }

  private enumValue(e: Enum, json: unknown, path: string): number | undefined {
    const name = typeName(e);
    if (name === 'google.protobuf.NullValue' && json === null) return 0;
    if (typeof json === 'string') {
      if (Object.hasOwn(e.values, json)) return e.values[json];
      return this.fail(
        path,
        `invalid ${name} value ${JSON.stringify(json)}: expected one of ${Object.keys(e.values).join(', ')}`,
      );
    }
    if (typeof json === 'number') {
      if (Number.isInteger(json) && e.valuesById[json] !== undefined) return json;
      return this.fail(path, `invalid ${name} value ${String(json)}: not a number the enum defines`);
    }
    return this.fail(path, `expected ${name} (a value name or number), got ${describe(json)}`);
  }

  private fieldValue(field: Field, json: unknown, path: string, depth: number): FieldValue | undefined {
    if (field instanceof MapField) {
      if (!isObject(json))
        return this.fail(path, `expected a JSON object for map field ${field.name}, got ${describe(json)}`);
      const entries: (readonly [Scalar | undefined, Value | undefined])[] = [];
      for (const [key, value] of Object.entries(json)) {
        if (value === undefined) continue;
        const entryPath = `${path}[${JSON.stringify(key)}]`;
        const checkedKey = checkMapKey(field.keyType, key);
        if (!checkedKey.ok) this.report(entryPath, checkedKey.message);
        const checkedValue =
          value === null && !acceptsNull(field)
            ? this.fail(entryPath, 'map values cannot be null')
            : this.single(field, value, entryPath, depth);
        entries.push([checkedKey.ok ? checkedKey.value : undefined, checkedValue]);
      }
      return { kind: 'map', entries };
    }
    if (field.repeated) {
      if (!Array.isArray(json))
        return this.fail(
          path,
          `expected a JSON array for repeated field ${field.name}, got ${describe(json)}`,
        );
      const items = json.map((item: unknown, i) => {
        const itemPath = `${path}[${i}]`;
        if ((item === null && !acceptsNull(field)) || item === undefined)
          return this.fail(itemPath, `${describe(item)} is not allowed as a list element`);
        return this.single(field, item, itemPath, depth);
      });
      return { kind: 'list', items };
    }
    return this.single(field, json, path, depth);
  }

  // ----- PGV -----

  private fieldRules(field: Field, isSet: boolean, value: FieldValue | undefined, path: string): void {
    const rules = pgvRules(field);
    if (!rules) return;
    if (field.partOf !== null && !isSet) return; // oneof members and proto3 `optional`: checked only when set
    if (sub(rules, 'message')?.['required'] === true && !isSet)
      this.report(path, 'value is required [validate.rules message.required]');
    if (isSet && value === undefined) return; // already reported as malformed

    if (field instanceof MapField) {
      const r = sub(rules, 'map');
      if (!r) return;
      const entries =
        value !== undefined && typeof value === 'object' && 'kind' in value && value.kind === 'map'
          ? value.entries
          : [];
      if (r['ignore_empty'] === true && entries.length === 0) return;
      const min = toBigInt(r['min_pairs']);
      const max = toBigInt(r['max_pairs']);
      const n = BigInt(entries.length);
      if (min !== undefined && n < min)
        this.report(
          path,
          `must have at least ${String(min)} entries, got ${String(n)} [validate.rules map.min_pairs]`,
        );
      if (max !== undefined && n > max)
        this.report(
          path,
          `must have at most ${String(max)} entries, got ${String(n)} [validate.rules map.max_pairs]`,
        );
      const keyRules = sub(r, 'keys');
      const valueRules = sub(r, 'values');
      for (const [key, item] of entries) {
        const entryPath = `${path}[${JSON.stringify(key === undefined ? '?' : key instanceof Uint8Array ? '' : String(key))}]`;
        if (keyRules && key !== undefined)
          this.typeRules(keyRules, { type: field.keyType, resolvedType: null }, true, key, entryPath);
        if (valueRules && item !== undefined) this.typeRules(valueRules, field, true, item, entryPath);
      }
      return;
    }

    if (field.repeated) {
      const r = sub(rules, 'repeated');
      if (!r) return;
      const items =
        value !== undefined && typeof value === 'object' && 'kind' in value && value.kind === 'list'
          ? value.items
          : [];
      if (r['ignore_empty'] === true && items.length === 0) return;
      const min = toBigInt(r['min_items']);
      const max = toBigInt(r['max_items']);
      const n = BigInt(items.length);
      if (min !== undefined && n < min)
        this.report(
          path,
          `must have at least ${String(min)} items, got ${String(n)} [validate.rules repeated.min_items]`,
        );
      if (max !== undefined && n > max)
        this.report(
          path,
          `must have at most ${String(max)} items, got ${String(n)} [validate.rules repeated.max_items]`,
        );
      if (r['unique'] === true) {
        const seen = new Map<string, number>();
        items.forEach((item, i) => {
          if (item === undefined) return;
          const key = uniqueKey(item);
          const first = seen.get(key);
          if (first === undefined) seen.set(key, i);
          else
            this.report(
              `${path}[${i}]`,
              `duplicates item [${first}]; items must be unique [validate.rules repeated.unique]`,
            );
        });
      }
      const itemRules = sub(r, 'items');
      if (itemRules) {
        items.forEach((item, i) => {
          if (item !== undefined) this.typeRules(itemRules, field, true, item, `${path}[${i}]`);
        });
      }
      return;
    }

    this.typeRules(rules, field, isSet, value, path);
  }

  /** Applies type rules (`uint32`, `string`, `duration`, …) to one value. */
  private typeRules(
    rules: Rules,
    t: ValueType,
    isSet: boolean,
    value: FieldValue | undefined,
    path: string,
  ): void {
    for (const kind of Object.keys(rules)) {
      const r = sub(rules, kind);
      if (!r || kind === 'message') continue;
      switch (kind) {
        case 'duration':
        case 'timestamp':
          if (r['required'] === true && !isSet)
            this.report(path, `value is required [validate.rules ${kind}.required]`);
          if (isMessageValue(value) && value.nanos !== undefined) {
            const show =
              kind === 'duration' ? showNanos : (n: bigint) => new Date(Number(n / 1_000_000n)).toISOString();
            this.range(kind, r, value.nanos, durationRuleNanos, show, path);
          }
          break;
        case 'any': {
          if (r['required'] === true && !isSet)
            this.report(path, 'value is required [validate.rules any.required]');
          const url = isMessageValue(value) ? value.typeUrl : undefined;
          if (url === undefined) break;
          const inList = ruleList(r['in']);
          if (inList.length > 0 && !inList.includes(url))
            this.report(
              path,
              `type URL must be one of ${JSON.stringify(inList)}, got ${JSON.stringify(url)} [validate.rules any.in]`,
            );
          if (ruleList(r['not_in']).includes(url))
            this.report(path, `type URL must not be ${JSON.stringify(url)} [validate.rules any.not_in]`);
          break;
        }
        default: {
          let scalar: Scalar | undefined;
          const wrapper = t.resolvedType instanceof Type && WRAPPERS[typeName(t.resolvedType)] !== undefined;
          if (wrapper) {
            if (!isSet) break;
            scalar = isMessageValue(value) ? value.inner : undefined;
          } else if (isSet) {
            scalar = isScalar(value) ? value : undefined;
          } else {
            scalar = defaultScalar(t); // proto3 scalars without presence: PGV checks the default value
          }
          if (scalar !== undefined) this.scalarRules(kind, r, scalar, path, t);
        }
      }
    }
  }

  private scalarRules(kind: string, r: Rules, v: Scalar, path: string, t: ValueType): void {
    if (r['ignore_empty'] === true && isEmpty(v)) return;
    const label = (rule: string): string => `[validate.rules ${kind}.${rule}]`;
    if (kind in INT_RANGES) {
      if (typeof v === 'bigint') this.range(kind, r, v, toBigInt, String, path);
      return;
    }
    if (FLOAT_KINDS.has(kind)) {
      if (typeof v === 'number') this.range(kind, r, v, toNumber, String, path);
      return;
    }
    switch (kind) {
      case 'bool':
        if (typeof v === 'boolean' && typeof r['const'] === 'boolean' && v !== r['const'])
          this.report(path, `must be ${String(r['const'])} ${label('const')}`);
        return;
      case 'enum': {
        if (typeof v !== 'number') return;
        const e = t.resolvedType;
        if (r['defined_only'] === true && e instanceof Enum && e.valuesById[v] === undefined)
          this.report(path, `${v} is not a defined ${typeName(e)} value ${label('defined_only')}`);
        this.range(kind, { const: r['const'], in: r['in'], not_in: r['not_in'] }, v, toNumber, String, path);
        return;
      }
      case 'string':
        if (typeof v === 'string') this.stringRules(r, v, path, label);
        return;
      case 'bytes':
        if (v instanceof Uint8Array) this.bytesRules(r, v, path, label);
        return;
      default:
        return; // rules for another kind than the value has: nothing PGV would check
    }
  }

  private stringRules(r: Rules, s: string, path: string, label: (rule: string) => string): void {
    const chars = BigInt([...s].length);
    const bytes = BigInt(Buffer.byteLength(s, 'utf8'));
    const shown = JSON.stringify(s);
    const fail = (rule: string, what: string): void =>
      this.report(path, `${what}, got ${shown} ${label(rule)}`);
    const num = (rule: string): bigint | undefined => toBigInt(r[rule]);
    const str = (rule: string): string | undefined => (typeof r[rule] === 'string' ? r[rule] : undefined);

    const constant = str('const');
    if (constant !== undefined && s !== constant) fail('const', `must equal ${JSON.stringify(constant)}`);
    const len = num('len');
    if (len !== undefined && chars !== len) fail('len', `must be exactly ${String(len)} characters long`);
    const minLen = num('min_len');
    if (minLen !== undefined && chars < minLen)
      fail('min_len', `must be at least ${String(minLen)} characters long`);
    const maxLen = num('max_len');
    if (maxLen !== undefined && chars > maxLen)
      fail('max_len', `must be at most ${String(maxLen)} characters long`);
    const lenBytes = num('len_bytes');
    if (lenBytes !== undefined && bytes !== lenBytes)
      fail('len_bytes', `must be exactly ${String(lenBytes)} bytes long`);
    const minBytes = num('min_bytes');
    if (minBytes !== undefined && bytes < minBytes)
      fail('min_bytes', `must be at least ${String(minBytes)} bytes long`);
    const maxBytes = num('max_bytes');
    if (maxBytes !== undefined && bytes > maxBytes)
      fail('max_bytes', `must be at most ${String(maxBytes)} bytes long`);
    const pattern = str('pattern');
    const re = pattern === undefined ? null : compilePattern(pattern);
    if (pattern !== undefined && re && !re.test(s)) fail('pattern', `must match ${JSON.stringify(pattern)}`);
    const prefix = str('prefix');
    if (prefix !== undefined && !s.startsWith(prefix))
      fail('prefix', `must start with ${JSON.stringify(prefix)}`);
    const suffix = str('suffix');
    if (suffix !== undefined && !s.endsWith(suffix))
      fail('suffix', `must end with ${JSON.stringify(suffix)}`);
    const contains = str('contains');
    if (contains !== undefined && !s.includes(contains))
      fail('contains', `must contain ${JSON.stringify(contains)}`);
    const notContains = str('not_contains');
    if (notContains !== undefined && s.includes(notContains))
      fail('not_contains', `must not contain ${JSON.stringify(notContains)}`);
    const inList = ruleList(r['in']);
    if (inList.length > 0 && !inList.includes(s)) fail('in', `must be one of ${JSON.stringify(inList)}`);
    if (ruleList(r['not_in']).includes(s)) fail('not_in', 'must not be this value');

    if (r['email'] === true && !isEmail(s)) fail('email', 'must be an email address');
    if (r['hostname'] === true && !isHostname(s)) fail('hostname', 'must be a hostname');
    if (r['ip'] === true && isIP(s) === 0) fail('ip', 'must be an IP address');
    if (r['ipv4'] === true && isIP(s) !== 4) fail('ipv4', 'must be an IPv4 address');
    if (r['ipv6'] === true && isIP(s) !== 6) fail('ipv6', 'must be an IPv6 address');
    if (r['uri'] === true && !isAbsoluteUri(s)) fail('uri', 'must be an absolute URI');
    if (r['address'] === true && isIP(s) === 0 && !isHostname(s))
      fail('address', 'must be an IP address or hostname');
    if (r['uuid'] === true && !UUID.test(s)) fail('uuid', 'must be a UUID');

    const wellKnown = r['well_known_regex'];
    const strict = r['strict'] !== false;
    if (wellKnown === 'HTTP_HEADER_NAME' || wellKnown === 1) {
      if (strict ? !HEADER_NAME.test(s) : !isHeaderStringLoose(s))
        fail('well_known_regex', 'must be a valid HTTP header name');
    } else if (wellKnown === 'HTTP_HEADER_VALUE' || wellKnown === 2) {
      if (strict ? !isHeaderValueStrict(s) : !isHeaderStringLoose(s))
        fail('well_known_regex', 'must be a valid HTTP header value');
    }
  }

  private bytesRules(r: Rules, b: Uint8Array, path: string, label: (rule: string) => string): void {
    const n = BigInt(b.length);
    const fail = (rule: string, what: string): void =>
      this.report(path, `${what}, got ${b.length} bytes ${label(rule)}`);
    const len = toBigInt(r['len']);
    if (len !== undefined && n !== len) fail('len', `must be exactly ${String(len)} bytes long`);
    const min = toBigInt(r['min_len']);
    if (min !== undefined && n < min) fail('min_len', `must be at least ${String(min)} bytes long`);
    const max = toBigInt(r['max_len']);
    if (max !== undefined && n > max) fail('max_len', `must be at most ${String(max)} bytes long`);
    const constant = ruleBytes(r['const']);
    if (constant && !bytesEqual(b, constant)) fail('const', 'must equal the configured constant');
    const prefix = ruleBytes(r['prefix']);
    if (prefix && !bytesEqual(b.subarray(0, prefix.length), prefix))
      fail('prefix', 'must start with the configured prefix');
    const suffix = ruleBytes(r['suffix']);
    if (suffix && (suffix.length > b.length || !bytesEqual(b.subarray(b.length - suffix.length), suffix)))
      fail('suffix', 'must end with the configured suffix');
    const contains = ruleBytes(r['contains']);
    if (contains && bytesIndexOf(b, contains) < 0) fail('contains', 'must contain the configured bytes');
    const inList = ruleList(r['in']).map(ruleBytes);
    if (inList.length > 0 && !inList.some((x) => x !== undefined && bytesEqual(x, b)))
      fail('in', 'must be one of the configured values');
    if (
      ruleList(r['not_in'])
        .map(ruleBytes)
        .some((x) => x !== undefined && bytesEqual(x, b))
    )
      fail('not_in', 'must not be one of the configured values');
  }

  /** `const`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in` with PGV semantics (a reversed range means "outside"). */
  private range<T extends number | bigint>(
    kind: string,
    r: Rules,
    v: T,
    convert: (u: unknown) => T | undefined,
    show: (t: T) => string,
    path: string,
  ): void {
    const label = (rule: string): string => `[validate.rules ${kind}.${rule}]`;
    const got = `got ${show(v)}`;
    const has = (rule: string): boolean => r[rule] !== undefined && r[rule] !== null;
    const constant = has('const') ? convert(r['const']) : undefined;
    if (constant !== undefined && v !== constant)
      this.report(path, `must equal ${show(constant)}, ${got} ${label('const')}`);

    const lt = has('lt') ? convert(r['lt']) : undefined;
    const lte = has('lte') ? convert(r['lte']) : undefined;
    const gt = has('gt') ? convert(r['gt']) : undefined;
    const gte = has('gte') ? convert(r['gte']) : undefined;
    const upper =
      lt !== undefined
        ? { bound: lt, ok: v < lt, rule: 'lt', text: `less than ${show(lt)}` }
        : lte !== undefined
          ? { bound: lte, ok: v <= lte, rule: 'lte', text: `less than or equal to ${show(lte)}` }
          : undefined;
    const lower =
      gt !== undefined
        ? { bound: gt, ok: v > gt, rule: 'gt', text: `greater than ${show(gt)}` }
        : gte !== undefined
          ? { bound: gte, ok: v >= gte, rule: 'gte', text: `greater than or equal to ${show(gte)}` }
          : undefined;
    if (upper && lower) {
      const rules = `${lower.rule}/${upper.rule}`;
      if (upper.bound > lower.bound) {
        if (!(upper.ok && lower.ok))
          this.report(path, `must be ${lower.text} and ${upper.text}, ${got} ${label(rules)}`);
      } else if (!(upper.ok || lower.ok)) {
        this.report(path, `must be ${lower.text} or ${upper.text}, ${got} ${label(rules)}`);
      }
    } else {
      const only = upper ?? lower;
      if (only && !only.ok) this.report(path, `must be ${only.text}, ${got} ${label(only.rule)}`);
    }

    const inList = ruleList(r['in']).map(convert);
    if (inList.length > 0 && !inList.includes(v))
      this.report(
        path,
        `must be one of [${inList.map((x) => (x === undefined ? '?' : show(x))).join(', ')}], ${got} ${label('in')}`,
      );
    if (ruleList(r['not_in']).map(convert).includes(v))
      this.report(path, `must not be ${show(v)} ${label('not_in')}`);
  }
}

function isEmpty(v: Scalar): boolean {
  if (v instanceof Uint8Array) return v.length === 0;
  return v === '' || v === 0 || v === 0n || v === false;
}

function uniqueKey(v: Value): string {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('base64')}`;
  if (typeof v === 'object') return `message:${JSON.stringify(v.json)}`;
  return `${typeof v}:${String(v)}`;
}
