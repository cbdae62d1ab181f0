/**
 * One form edit applied onto the SmartLimiter as written. The object is never rebuilt from what the form
 * shows: the edit changes the field it names, under the key the author used for it, and every other field,
 * known to the form or not, stays exactly as it was.
 */
import {
  actionNode,
  BASE_SET,
  descriptorNode,
  descriptorsNode,
  durationNode,
  matcherNode,
  smartLimiterSpecNode,
  type Duration,
  type ObjectNode,
  type Strategy,
} from '@governor/crd-types';
import { clustersValue, CLUSTERS_ANNOTATION, type ClusterChoice } from './clusters';
import { defaultTarget, headerMatcher, integer, SHADOW_ANNOTATION } from './form-state';
import { cloneJson, isJsonObject, setOwn, type JsonObject, type JsonValue } from './json';
import { keyFor, readField, spellingsOf, writeField, type FieldName, type Spelling } from './spelling';
import { limiterParts, type LimitRef } from './structure';

export type FormEdit =
  | { readonly kind: 'name'; readonly value: string }
  | { readonly kind: 'namespace'; readonly value: string }
  | { readonly kind: 'shadow'; readonly value: boolean }
  | { readonly kind: 'clusters'; readonly value: ClusterChoice }
  /** Moves the limit to another set (renames its set when it is the set's only limit). */
  | { readonly kind: 'set'; readonly at: LimitRef; readonly value: string }
  | { readonly kind: 'quota'; readonly at: LimitRef; readonly value: string }
  | { readonly kind: 'fillInterval'; readonly at: LimitRef; readonly value: Duration }
  | { readonly kind: 'strategy'; readonly at: LimitRef; readonly value: Strategy }
  | { readonly kind: 'condition'; readonly at: LimitRef; readonly value: string }
  /** Absent: every port. */
  | { readonly kind: 'port'; readonly at: LimitRef; readonly value: number | undefined }
  | { readonly kind: 'headerName'; readonly at: LimitRef; readonly value: string }
  | { readonly kind: 'headerValue'; readonly at: LimitRef; readonly value: string }
  | { readonly kind: 'headerInvert'; readonly at: LimitRef; readonly value: boolean }
  /** A new limit in `_base`: 10 requests a second, always; `port` unless `spec.target` gives one. */
  | { readonly kind: 'addLimit'; readonly port: number }
  | { readonly kind: 'removeLimit'; readonly at: LimitRef };

/** `o[key]` as an object, made one if it is absent or empty. */
function objectAt(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  if (isJsonObject(v)) return v;
  const fresh: JsonObject = {};
  setOwn(o, key, fresh);
  return fresh;
}

/** A field of an object node as an object, written (in the object's spelling) if it is absent. */
function fieldObject<N extends ObjectNode>(
  node: N,
  o: JsonObject,
  name: FieldName<N>,
  spelling: Spelling,
): JsonObject {
  const v = readField(node, o, name);
  if (isJsonObject(v)) return v;
  const fresh: JsonObject = {};
  writeField(node, o, name, fresh, spelling);
  return fresh;
}

/** Renames a key in place, keeping the order of the others. */
function renameKey(o: JsonObject, from: string, to: string): void {
  const entries = Object.entries(o);
  for (const [k] of entries) delete o[k];
  for (const [k, v] of entries) setOwn(o, k === from ? to : k, v);
}

/** The descriptor list of a set; the structure check has made sure it is one. */
const descriptorsOf = (set: JsonObject): JsonValue[] => {
  const list = readField(descriptorsNode, set, 'descriptor');
  return Array.isArray(list) ? list : [];
};

/** Takes a limit out of its set, and the set out of the policy when nothing else is left in it. */
function takeOut(sets: JsonObject, at: LimitRef): JsonValue | undefined {
  const set = sets[at.set];
  if (!isJsonObject(set)) return undefined;
  const list = descriptorsOf(set);
  const [taken] = list.splice(at.index, 1);
  if (list.length === 0 && Object.keys(set).every((k) => k === 'descriptor')) delete sets[at.set];
  return taken;
}

function append(sets: JsonObject, set: string, descriptor: JsonValue, spelling: Spelling): void {
  const s = objectAt(sets, set);
  const list = readField(descriptorsNode, s, 'descriptor');
  if (Array.isArray(list)) list.push(descriptor);
  else writeField(descriptorsNode, s, 'descriptor', [descriptor], spelling);
}

const holds = (o: JsonObject, names: readonly string[]): boolean => names.some((k) => k in o);

/** A matcher the user has emptied: nothing left but an empty name and value. */
function isEmptyMatcher(m: JsonObject): boolean {
  const exact = spellingsOf(matcherNode, 'exactMatch');
  return Object.entries(m).every(([k, v]) => (k === 'name' || exact.includes(k)) && (v === '' || v === null));
}

function editHeader(
  descriptor: JsonObject,
  field: 'name' | 'exactMatch',
  value: string,
  spelling: Spelling,
): void {
  const set = (m: JsonObject) =>
    field === 'name' ? (m.name = value) : writeField(matcherNode, m, 'exactMatch', value, spelling);
  const m = headerMatcher(descriptor);
  if (m) {
    set(m);
    if (isEmptyMatcher(m)) for (const k of spellingsOf(descriptorNode, 'match')) delete descriptor[k];
    return;
  }
  const match = readField(descriptorNode, descriptor, 'match');
  // Other matchers are not in the form, and a limit without one only gets one once something is typed.
  if ((match !== undefined && !(Array.isArray(match) && match.length === 0)) || value === '') return;
  const fresh: JsonObject = { name: '', [keyFor(matcherNode, 'exactMatch', spelling)]: '' };
  set(fresh);
  writeField(descriptorNode, descriptor, 'match', [fresh], spelling);
}

/** Sets the port of a limit's target. A limit without its own target gets a copy of `spec.target`'s. */
function editPort(
  descriptor: JsonObject,
  spec: JsonObject | undefined,
  port: number | undefined,
  spelling: Spelling,
) {
  const own = readField(descriptorNode, descriptor, 'target');
  const target = isJsonObject(own) ? own : cloneJson(defaultTarget(spec) ?? {});
  if (!isJsonObject(own) && integer(target.port) === port) return;
  if (port === undefined) delete target.port;
  else target.port = port;
  if (!isJsonObject(own)) writeField(descriptorNode, descriptor, 'target', target, spelling);
}

/** Sets an annotation, or removes it (and the map, when it was the last one) for undefined. */
function setAnnotation(o: JsonObject, key: string, value: string | undefined): void {
  if (value !== undefined) {
    setOwn(objectAt(objectAt(o, 'metadata'), 'annotations'), key, value);
    return;
  }
  const metadata = o.metadata;
  const annotations = isJsonObject(metadata) ? metadata.annotations : undefined;
  if (!isJsonObject(metadata) || !isJsonObject(annotations) || !(key in annotations)) return;
  delete annotations[key];
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
}

function newDescriptor(spelling: Spelling, port: number | undefined): JsonObject {
  return {
    action: {
      [keyFor(actionNode, 'fillInterval', spelling)]: { seconds: 1 },
      quota: '10',
      strategy: 'single',
    },
    condition: 'true',
    ...(port === undefined ? {} : { target: { port } }),
  };
}

/** The SmartLimiter with one form edit applied; `written` itself is not changed. */
export function applyEdit(written: JsonObject, edit: FormEdit): JsonObject {
  const next = cloneJson(written);
  const r = limiterParts(next);
  // The form offers no edit on a policy it cannot show.
  if (!r.ok) return written;
  const { spec, sets, spelling } = r.parts;
  const limit =
    'at' in edit
      ? r.parts.limits.find((l) => l.at.set === edit.at.set && l.at.index === edit.at.index)
      : undefined;
  if ('at' in edit && !limit) return written;
  const descriptor = limit?.descriptor ?? {};
  const action = () => fieldObject(descriptorNode, descriptor, 'action', spelling);

  switch (edit.kind) {
    case 'name':
      objectAt(next, 'metadata').name = edit.value;
      break;
    case 'namespace':
      objectAt(next, 'metadata').namespace = edit.value;
      break;
    case 'shadow':
      setAnnotation(next, SHADOW_ANNOTATION, edit.value ? 'true' : undefined);
      break;
    case 'clusters':
      setAnnotation(next, CLUSTERS_ANNOTATION, clustersValue(edit.value));
      break;
    case 'set': {
      const to = edit.value;
      if (to === '' || to === edit.at.set || !sets) break;
      const from = sets[edit.at.set];
      // A set's only limit renames the set in place: its place in the policy and its other fields stay.
      if (isJsonObject(from) && descriptorsOf(from).length === 1 && !Object.hasOwn(sets, to))
        renameKey(sets, edit.at.set, to);
      else append(sets, to, takeOut(sets, edit.at) ?? descriptor, spelling);
      break;
    }
    case 'quota':
      writeField(actionNode, action(), 'quota', edit.value, spelling);
      break;
    case 'fillInterval': {
      const a = action();
      const before = readField(actionNode, a, 'fillInterval');
      const duration: JsonObject = isJsonObject(before) ? before : {};
      writeField(durationNode, duration, 'seconds', edit.value.seconds ?? 0, spelling);
      if (edit.value.nanos) writeField(durationNode, duration, 'nanos', edit.value.nanos, spelling);
      else delete duration.nanos;
      writeField(actionNode, a, 'fillInterval', duration, spelling);
      break;
    }
    case 'strategy':
      writeField(actionNode, action(), 'strategy', edit.value, spelling);
      break;
    case 'condition':
      writeField(descriptorNode, descriptor, 'condition', edit.value, spelling);
      break;
    case 'port':
      editPort(descriptor, spec, edit.value, spelling);
      break;
    case 'headerName':
      editHeader(descriptor, 'name', edit.value, spelling);
      break;
    case 'headerValue':
      editHeader(descriptor, 'exactMatch', edit.value, spelling);
      break;
    case 'headerInvert': {
      const m = headerMatcher(descriptor);
      if (m && (edit.value || holds(m, spellingsOf(matcherNode, 'invertMatch'))))
        writeField(matcherNode, m, 'invertMatch', edit.value, spelling);
      break;
    }
    case 'addLimit': {
      const s = objectAt(next, 'spec');
      const all = fieldObject(smartLimiterSpecNode, s, 'sets', spelling);
      append(all, BASE_SET, newDescriptor(spelling, defaultTarget(s) ? undefined : edit.port), spelling);
      break;
    }
    case 'removeLimit':
      if (sets) takeOut(sets, edit.at);
      break;
    default: {
      const unknown: never = edit;
      throw new Error(`unknown form edit ${JSON.stringify(unknown)}`);
    }
  }
  return next;
}
