/**
 * The MetaRouter form reads the object as written and sets one value at a time onto it, under the key the
 * author used (Aeraki's manifests may write `mirror_percentage` for `mirrorPercentage`); the editor writes
 * the result back into the YAML text, so whatever the form does not show stays.
 */
import { parseDocument } from 'yaml';
import {
  cloneJson,
  isJsonObject,
  setOwn,
  type JsonObject,
  type JsonValue,
} from '../../lib/limiter-form/json';
import { writeLimiterText } from '../../lib/limiter-form/yaml-text';

export type Path = readonly (string | number)[];

export type Reading = { ok: true; written: JsonObject } | { ok: false; reason: string };

export function readMetaRouterText(text: string): Reading {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { ok: false, reason: 'The YAML does not parse: fix it in the YAML tab.' };
  const value: unknown = doc.toJS();
  if (!isJsonObject(value) || value.kind !== 'MetaRouter')
    return { ok: false, reason: 'Not a MetaRouter: edit it in the YAML tab.' };
  return { ok: true, written: cloneJson(value as JsonObject) };
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The key `o` already uses for a field, lowerCamel or snake_case; lowerCamel when neither. */
const keyIn = (o: JsonObject, key: string): string =>
  Object.hasOwn(o, key) ? key : Object.hasOwn(o, snake(key)) ? snake(key) : key;

export function getIn(o: JsonValue | undefined, path: Path): JsonValue | undefined {
  let v: JsonValue | undefined = o;
  for (const k of path) {
    if (typeof k === 'number') v = Array.isArray(v) ? v[k] : undefined;
    else v = isJsonObject(v) ? v[keyIn(v, k)] : undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/** A copy of `o` with the value at `path` set (parents made as needed), or removed when undefined. */
export function setIn(o: JsonObject, path: Path, value: JsonValue | undefined): JsonObject {
  const out = cloneJson(o);
  let node: JsonValue = out;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const nextIsIndex = typeof path[i + 1] === 'number';
    const fresh = (): JsonValue => (nextIsIndex ? [] : {});
    if (typeof k === 'number') {
      const arr = node as JsonValue[];
      if (arr[k] === undefined || arr[k] === null || typeof arr[k] !== 'object') arr[k] = fresh();
      node = arr[k]!;
    } else {
      const obj = node as JsonObject;
      const key = keyIn(obj, k);
      const child = obj[key];
      if (child === undefined || child === null || typeof child !== 'object') setOwn(obj, key, fresh());
      node = obj[key]!;
    }
  }
  const last = path[path.length - 1]!;
  if (typeof last === 'number') {
    const arr = node as JsonValue[];
    if (value === undefined) arr.splice(last, 1);
    else arr[last] = value;
  } else {
    const obj = node as JsonObject;
    const key = keyIn(obj, last);
    if (value === undefined) delete obj[key];
    else setOwn(obj, key, value);
  }
  return out;
}

/** The text after setting `path` in the MetaRouter it holds; the text itself when it holds none. */
export function editText(text: string, path: Path, value: JsonValue | undefined): string {
  const r = readMetaRouterText(text);
  return r.ok ? writeLimiterText(text, setIn(r.written, path, value)) : text;
}

/** How a call attribute is matched. */
export const MATCH_KINDS = ['exact', 'prefix', 'regex', 'present'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

export interface AttributeMatch {
  readonly name: string;
  readonly kind: MatchKind;
  readonly value: string;
}

/** The attribute matches of a `match` (`{ attributes: { method: { exact: getRating } } }`). */
export function attributesOf(match: JsonValue | undefined): AttributeMatch[] {
  const attributes = getIn(match, ['attributes']);
  if (!isJsonObject(attributes)) return [];
  return Object.entries(attributes).map(([name, m]) => {
    const kind = (['exact', 'prefix', 'regex'] as const).find(
      (k) => isJsonObject(m) && typeof m[k] === 'string',
    );
    const value = kind && isJsonObject(m) ? String(m[kind]) : '';
    // Aeraki reads regex `*` as "present" too; shown as written.
    return { name, kind: kind ?? 'present', value };
  });
}

/** The `attributes` map for these matches, in their order. */
export function attributesValue(list: readonly AttributeMatch[]): JsonObject {
  const out: JsonObject = {};
  for (const a of list) setOwn(out, a.name, a.kind === 'present' ? {} : { [a.kind]: a.value });
  return out;
}

/** A number field's text as a value: empty removes the field; what is not a number is not written. */
export function numberOf(text: string): { ok: true; value: number | undefined } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  const n = Number(text);
  return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
}

/** A field path as the BFF's issues write it: `spec.routes[0].route`. */
export const issuePath = (path: Path): string =>
  path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s === '' ? k : `${s}.${k}`), '');
