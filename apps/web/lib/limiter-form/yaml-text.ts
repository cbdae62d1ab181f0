/**
 * The policy editor keeps one text, the YAML; the form reads it and writes its edits back into it. Writing
 * back rewrites only the values that changed, so the author's comments, key order and quoting survive a
 * form edit as the fields the form does not show do.
 */
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  stringify,
  type Document,
  type Pair,
} from 'yaml';
import { applyEdit, type FormEdit } from './apply-edit';
import { readLimiterForm, type LimiterForm } from './form-state';
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json';

export type TextReading =
  | { readonly ok: true; readonly written: JsonObject; readonly form: LimiterForm }
  | { readonly ok: false; readonly reason: string };

export const toYamlText = (o: JsonObject): string => stringify(o, { lineWidth: 0 });

/** The written SmartLimiter in a text, and what the form shows of it; or why the form cannot show it. */
export function readLimiterText(text: string): TextReading {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { ok: false, reason: 'The YAML does not parse: fix it in the YAML tab.' };
  const value: unknown = doc.toJS();
  if (!isJsonObject(value)) return { ok: false, reason: 'Not a SmartLimiter: edit it in the YAML tab.' };
  const written = cloneJson(value);
  const r = readLimiterForm(written);
  return r.ok ? { ok: true, written, form: r.form } : r;
}

/** The text after one form edit; the text itself when the form cannot show it. */
export function editLimiterText(text: string, edit: FormEdit): string {
  const r = readLimiterText(text);
  return r.ok ? writeLimiterText(text, applyEdit(r.written, edit)) : text;
}

/** `next` written into `text`, changing only the nodes whose value differs. */
export function writeLimiterText(text: string, next: JsonObject): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || doc.contents === null) return toYamlText(next);
  doc.contents = patch(doc, doc.contents, next) as typeof doc.contents;
  return doc.toString({ lineWidth: 0 });
}

const keyOf = (p: Pair): string => String(isScalar(p.key) ? p.key.value : p.key);

const valueOf = (doc: Document, node: unknown): unknown => (isNode(node) ? node.toJS(doc) : node);

function patch(doc: Document, node: unknown, next: JsonValue): unknown {
  if (isScalar(node) && (next === null || typeof next !== 'object')) {
    if (node.value === next) return node;
    // A number that becomes a string (or back) is not written in the old one's format.
    if (typeof node.value !== typeof next) {
      delete node.type;
      delete node.format;
    }
    node.value = next;
    return node;
  }
  if (isMap(node) && isJsonObject(next)) {
    const pairs = new Map(node.items.map((p) => [keyOf(p), p]));
    node.items = Object.entries(next).map(([k, v]) => {
      const p = pairs.get(k);
      if (!p) return doc.createPair(k, v);
      p.value = patch(doc, p.value, v);
      return p;
    });
    return node;
  }
  if (isSeq(node) && Array.isArray(next)) {
    // One item fewer: drop that item, rather than shifting every later value (and comment) up by one.
    if (next.length === node.items.length - 1) {
      const gone = next.findIndex((v, i) => !jsonEqual(valueOf(doc, node.items[i]), v));
      node.items.splice(gone === -1 ? next.length : gone, 1);
    }
    node.items = next.map((v, i) =>
      i < node.items.length ? patch(doc, node.items[i], v) : doc.createNode(v),
    );
    return node;
  }
  if (isAlias(node) && jsonEqual(valueOf(doc, node.resolve(doc)), next)) return node;
  const created = doc.createNode(next);
  if (isNode(node)) {
    created.commentBefore = node.commentBefore;
    created.comment = node.comment;
    created.spaceBefore = node.spaceBefore;
  }
  return created;
}
