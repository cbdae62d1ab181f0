/**
 * Fields as their author spelt them. Slime's manifests write `fill_interval` or `fillInterval` for the same
 * field, and crd-types accepts both (its schema nodes list the aliases); the form reads either and writes
 * back under the key the object already uses, so that an edit never renames what it does not change.
 */
import type { Node, ObjectNode } from '@governor/crd-types';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './json';

export type Spelling = 'snake_case' | 'lowerCamel';

/** The field names of an object node, as crd-types defines them (lowerCamel). */
export type FieldName<N> = N extends ObjectNode<infer F> ? keyof F & string : never;

/** Every key crd-types accepts for a field: its name, then its aliases. */
export function spellingsOf<N extends ObjectNode>(node: N, name: FieldName<N>): readonly string[] {
  return [name, ...(node.fields[name]?.aliases ?? [])];
}

/** The keys under which `o` holds a field: those with a value, else those left empty (`key:` is null). */
function keysHolding<N extends ObjectNode>(node: N, o: JsonObject, name: FieldName<N>): string[] {
  const keys = spellingsOf(node, name).filter((k) => k in o);
  const valued = keys.filter((k) => o[k] !== null);
  return valued.length > 0 ? valued : keys.slice(0, 1);
}

/** A field's value in any spelling; null (an empty YAML value) reads as absent, as crd-types reads it. */
export function readField<N extends ObjectNode>(
  node: N,
  o: JsonObject,
  name: FieldName<N>,
): JsonValue | undefined {
  for (const k of spellingsOf(node, name)) {
    const v = o[k];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/** The key a new field gets in an object written in `spelling`. */
export function keyFor<N extends ObjectNode>(node: N, name: FieldName<N>, spelling: Spelling): string {
  if (spelling === 'lowerCamel') return name;
  return node.fields[name]?.aliases?.find((a) => a.includes('_')) ?? name;
}

/**
 * Sets a field under the key(s) `o` already uses for it, or under the key `spelling` gives a new one. A field
 * given in both spellings keeps both (crd-types accepts that while the values agree), each its own copy.
 */
export function writeField<N extends ObjectNode>(
  node: N,
  o: JsonObject,
  name: FieldName<N>,
  value: JsonValue,
  spelling: Spelling,
): void {
  const keys = keysHolding(node, o, name);
  if (keys.length === 0) o[keyFor(node, name, spelling)] = value;
  keys.forEach((k, i) => (o[k] = i === 0 ? value : cloneJson(value)));
}

/** Removes a field in every spelling. */
export function deleteField<N extends ObjectNode>(node: N, o: JsonObject, name: FieldName<N>): void {
  for (const k of spellingsOf(node, name)) delete o[k];
}

/**
 * How an object spells its two-word fields: the first such field found decides. An object that has none
 * gets snake_case, as Slime's documentation and Governor's demo policies write it.
 */
export function spellingOf(node: Node, value: unknown): Spelling {
  return findSpelling(node, value) ?? 'snake_case';
}

function findSpelling(node: Node, value: unknown): Spelling | undefined {
  switch (node.kind) {
    case 'object': {
      if (!isJsonObject(value)) return undefined;
      for (const [key, v] of Object.entries(value)) {
        for (const [name, f] of Object.entries(node.fields)) {
          const aliases = f.aliases ?? [];
          if (key !== name && !aliases.includes(key)) continue;
          if (aliases.length > 0) return key === name ? 'lowerCamel' : 'snake_case';
          const inner = findSpelling(f.node, v);
          if (inner) return inner;
        }
      }
      return undefined;
    }
    case 'array':
      if (!Array.isArray(value)) return undefined;
      for (const v of value) {
        const inner = findSpelling(node.items, v);
        if (inner) return inner;
      }
      return undefined;
    case 'map':
      if (!isJsonObject(value)) return undefined;
      for (const v of Object.values(value)) {
        const inner = findSpelling(node.values, v);
        if (inner) return inner;
      }
      return undefined;
    default:
      return undefined;
  }
}
