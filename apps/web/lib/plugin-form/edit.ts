/**
 * The plugin form reads the PluginManager or EnvoyPlugin as written and applies each edit onto it: only the
 * field edited changes, under the key the author used for it, so whatever the form does not show stays.
 */
import { parseDocument } from 'yaml';
import { cloneJson, isJsonObject, setOwn, type JsonObject, type JsonValue } from '../limiter-form/json';
import { writeLimiterText } from '../limiter-form/yaml-text';

export type PluginKind = 'PluginManager' | 'EnvoyPlugin';

export interface PluginEntry {
  readonly index: number;
  readonly name: string;
  readonly enable: boolean | undefined;
  readonly listenerType: string | undefined;
  readonly port: number | undefined;
  /** `type_url` / `typeUrl`: the catalog finds the filter by it before the name. */
  readonly typeUrl: string | undefined;
  /** `inline`, `wasm` or `rider`; none yet: an inline plugin once settings are written. */
  readonly source: 'inline' | 'wasm' | 'rider' | undefined;
  readonly settings: JsonObject | undefined;
}

export type PluginReading =
  | {
      readonly ok: true;
      readonly kind: PluginKind;
      readonly written: JsonObject;
      /** `spec.plugin` or `spec.plugins`: where the issue paths point. */
      readonly listPath: string;
      readonly entries: readonly PluginEntry[];
    }
  | { readonly ok: false; readonly reason: string };

export const LISTENER_TYPES = ['Outbound', 'Inbound', 'Gateway'] as const;

const LIST_KEY: Record<PluginKind, string> = { PluginManager: 'plugin', EnvoyPlugin: 'plugins' };

/** The key an object already uses for a field among its spellings, else the first spelling. */
export const keyIn = (o: JsonObject, spellings: readonly string[]): string =>
  spellings.find((k) => Object.hasOwn(o, k)) ?? spellings[0]!;

const read = (o: JsonObject, spellings: readonly string[]): JsonValue | undefined => {
  const k = spellings.find((s) => Object.hasOwn(o, s));
  return k === undefined ? undefined : o[k];
};

const LISTENER_TYPE = ['listenerType', 'listener_type'];
const TYPE_URL = ['type_url', 'typeUrl'];

function entryOf(p: JsonValue, index: number): PluginEntry {
  const o = isJsonObject(p) ? p : {};
  const inline = o.inline;
  const settings = isJsonObject(inline) && isJsonObject(inline.settings) ? inline.settings : undefined;
  const port = o.port;
  const lt = read(o, LISTENER_TYPE);
  const tu = read(o, TYPE_URL);
  return {
    index,
    name: typeof o.name === 'string' ? o.name : '',
    enable: typeof o.enable === 'boolean' ? o.enable : undefined,
    listenerType: typeof lt === 'string' ? lt : undefined,
    port: typeof port === 'number' ? port : undefined,
    typeUrl: typeof tu === 'string' && tu !== '' ? tu : undefined,
    source: (['inline', 'wasm', 'rider'] as const).find((k) => o[k] !== undefined && o[k] !== null),
    settings,
  };
}

/** The object in a text and its plugins; or why the form cannot show it. */
export function readPluginText(text: string): PluginReading {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { ok: false, reason: 'The YAML does not parse: fix it in the YAML tab.' };
  const value: unknown = doc.toJS();
  if (!isJsonObject(value)) return { ok: false, reason: 'Not a PluginManager or EnvoyPlugin.' };
  const written = cloneJson(value);
  const kind = written.kind;
  if (kind !== 'PluginManager' && kind !== 'EnvoyPlugin')
    return { ok: false, reason: 'Not a PluginManager or EnvoyPlugin: edit it in the YAML tab.' };
  const spec = isJsonObject(written.spec) ? written.spec : {};
  const list = spec[LIST_KEY[kind]];
  if (list !== undefined && list !== null && !Array.isArray(list))
    return { ok: false, reason: `spec.${LIST_KEY[kind]} is not a list: fix it in the YAML tab.` };
  return {
    ok: true,
    kind,
    written,
    listPath: `spec.${LIST_KEY[kind]}`,
    entries: (list ?? []).map(entryOf),
  };
}

/** A setting's place: proto names, each with its JSON name (either may be written). */
export type SettingPath = readonly { readonly key: string; readonly jsonName: string }[];

export type PluginEdit =
  | { readonly kind: 'name'; readonly index: number; readonly value: string }
  | { readonly kind: 'enable'; readonly index: number; readonly value: boolean }
  /** Absent: the default, Outbound. */
  | { readonly kind: 'listenerType'; readonly index: number; readonly value: string | undefined }
  /** Absent: every port. */
  | { readonly kind: 'port'; readonly index: number; readonly value: number | undefined }
  /** Absent: the field is removed. A message's "set" toggle writes `{}` or removes it. */
  | {
      readonly kind: 'setting';
      readonly index: number;
      readonly path: SettingPath;
      readonly value: JsonValue | undefined;
    }
  | { readonly kind: 'addPlugin'; readonly name: string }
  | { readonly kind: 'removePlugin'; readonly index: number };

function objectAt(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  if (isJsonObject(v)) return v;
  const fresh: JsonObject = {};
  setOwn(o, key, fresh);
  return fresh;
}

function setOrDelete(o: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value === undefined) delete o[key];
  else setOwn(o, key, value);
}

function editSetting(plugin: JsonObject, path: SettingPath, value: JsonValue | undefined): void {
  if (path.length === 0) return;
  const inline = plugin.inline;
  // Removing from settings that are not there changes nothing, not even an empty `inline` block.
  if (value === undefined && !(isJsonObject(inline) && isJsonObject(inline.settings))) return;
  let o = objectAt(objectAt(plugin, 'inline'), 'settings');
  for (const step of path.slice(0, -1)) {
    const k = keyIn(o, [step.key, step.jsonName]);
    if (value === undefined && !isJsonObject(o[k])) return;
    o = objectAt(o, k);
  }
  const last = path[path.length - 1]!;
  const k = keyIn(o, [last.key, last.jsonName]);
  // The other spelling of the same field would be a second value for it.
  for (const other of [last.key, last.jsonName]) if (other !== k) delete o[other];
  setOrDelete(o, k, value);
}

/** The object with one form edit applied; `written` itself is not changed. */
export function applyPluginEdit(written: JsonObject, edit: PluginEdit): JsonObject {
  const next = cloneJson(written);
  const kind = next.kind;
  if (kind !== 'PluginManager' && kind !== 'EnvoyPlugin') return written;
  const spec = objectAt(next, 'spec');
  const listKey = LIST_KEY[kind];
  if (edit.kind === 'addPlugin') {
    const list = Array.isArray(spec[listKey]) ? (spec[listKey] as JsonValue[]) : [];
    list.push({ name: edit.name, enable: true, inline: { settings: {} } });
    setOwn(spec, listKey, list);
    return next;
  }
  const list = spec[listKey];
  if (!Array.isArray(list) || !isJsonObject(list[edit.index])) return written;
  const plugin = list[edit.index] as JsonObject;
  switch (edit.kind) {
    case 'name':
      plugin.name = edit.value;
      break;
    case 'enable':
      plugin.enable = edit.value;
      break;
    case 'listenerType':
      setOrDelete(plugin, keyIn(plugin, LISTENER_TYPE), edit.value);
      break;
    case 'port':
      setOrDelete(plugin, 'port', edit.value);
      break;
    case 'setting':
      editSetting(plugin, edit.path, edit.value);
      break;
    case 'removePlugin':
      list.splice(edit.index, 1);
      break;
    default: {
      const unknown: never = edit;
      throw new Error(`unknown plugin edit ${JSON.stringify(unknown)}`);
    }
  }
  return next;
}

/** A setting's value as written, under either spelling of each step. */
export function settingAt(settings: JsonObject | undefined, path: SettingPath): JsonValue | undefined {
  let v: JsonValue | undefined = settings;
  for (const step of path) {
    if (!isJsonObject(v)) return undefined;
    v = v[keyIn(v, [step.key, step.jsonName])];
  }
  return v;
}

/** The path the live check reports a setting under, with the keys as written (proto names if unset). */
export function issuePath(
  listPath: string,
  index: number,
  settings: JsonObject | undefined,
  path: SettingPath,
): string {
  let o: JsonValue | undefined = settings;
  const keys: string[] = [];
  for (const step of path) {
    const k: string = isJsonObject(o) ? keyIn(o, [step.key, step.jsonName]) : step.key;
    keys.push(k);
    o = isJsonObject(o) ? o[k] : undefined;
  }
  return [`${listPath}[${index}].inline.settings`, ...keys].join('.');
}

/** The text after one form edit, rewriting only the values that changed; the text itself when unreadable. */
export function editPluginText(text: string, edit: PluginEdit): string {
  const r = readPluginText(text);
  return r.ok ? writeLimiterText(text, applyPluginEdit(r.written, edit)) : text;
}
