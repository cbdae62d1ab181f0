/**
 * The parts of a written SmartLimiter the form reaches into, found once: the form can show a policy whose
 * values are wrong (the BFF names those as you type), but not one whose shape is not a SmartLimiter's.
 */
import { descriptorNode, descriptorsNode, smartLimiterSpecNode } from '@governor/crd-types';
import { isJsonObject, type JsonObject } from './json';
import { readField, spellingOf, type Spelling } from './spelling';

/** A limit (a descriptor) by where it is written: its set, and its index in that set's list. */
export interface LimitRef {
  readonly set: string;
  readonly index: number;
}

export interface WrittenLimit {
  readonly at: LimitRef;
  readonly descriptor: JsonObject;
}

export interface LimiterParts {
  readonly metadata: JsonObject | undefined;
  readonly spec: JsonObject | undefined;
  readonly sets: JsonObject | undefined;
  readonly limits: readonly WrittenLimit[];
  /** How the object spells two-word fields: new keys follow it. */
  readonly spelling: Spelling;
}

export type PartsResult =
  { readonly ok: true; readonly parts: LimiterParts } | { readonly ok: false; readonly reason: string };

/** `a.b[0]["governor.io/shadow"]`: a path as a reader of the YAML finds it. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const plain = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return plain;
  return plain.startsWith('"') ? `${path}[${plain}]` : `${path}.${plain}`;
}

const notA = (path: string, what: string): PartsResult => ({
  ok: false,
  reason: `The form cannot show this policy: ${path} is not ${what}. Fix it in the YAML tab.`,
});

const optionalObject = (v: unknown): v is JsonObject | undefined | null => v == null || isJsonObject(v);

export function limiterParts(written: unknown): PartsResult {
  if (!isJsonObject(written)) return notA('the document', 'an object');
  const { metadata, spec } = written;
  if (!optionalObject(metadata)) return notA('metadata', 'an object');
  if (metadata && !optionalObject(metadata.annotations)) return notA('metadata.annotations', 'a map');
  if (!optionalObject(spec)) return notA('spec', 'an object');
  if (spec && !optionalObject(readField(smartLimiterSpecNode, spec, 'target')))
    return notA('spec.target', 'an object');
  const sets = spec ? readField(smartLimiterSpecNode, spec, 'sets') : undefined;
  if (!optionalObject(sets)) return notA('spec.sets', 'a map');
  const limits: WrittenLimit[] = [];
  for (const [set, s] of Object.entries(sets ?? {})) {
    const setPath = childPath('spec.sets', set);
    if (!isJsonObject(s)) return notA(setPath, 'an object');
    const list = readField(descriptorsNode, s, 'descriptor') ?? [];
    if (!Array.isArray(list)) return notA(`${setPath}.descriptor`, 'a list');
    for (const [index, d] of list.entries()) {
      const path = childPath(`${setPath}.descriptor`, index);
      if (!isJsonObject(d)) return notA(path, 'an object');
      if (!optionalObject(readField(descriptorNode, d, 'action'))) return notA(`${path}.action`, 'an object');
      if (!optionalObject(readField(descriptorNode, d, 'target'))) return notA(`${path}.target`, 'an object');
      limits.push({ at: { set, index }, descriptor: d });
    }
  }
  return {
    ok: true,
    parts: {
      metadata: metadata ?? undefined,
      spec: spec ?? undefined,
      sets: sets ?? undefined,
      limits,
      spelling: spellingOf(smartLimiterSpecNode, spec),
    },
  };
}
