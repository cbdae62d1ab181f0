/** What a field's input holds, read as the value the settings take; or why it is not one. */
import { parse } from 'yaml';
import { isJsonObject, type JsonValue } from '../limiter-form/json';
import type { FieldKind } from './fields';

export type Parsed =
  | { readonly ok: true; readonly value: JsonValue | undefined }
  | { readonly ok: false; readonly message: string };

/** Protobuf JSON's Duration: seconds with up to nine decimals and an `s`. */
export const DURATION = /^-?\d+(\.\d{1,9})?s$/;

/** An input's text as a value; empty text unsets the field (`undefined`). */
export function parseInput(kind: FieldKind, raw: string): Parsed {
  const text = raw.trim();
  if (text === '') return { ok: true, value: undefined };
  switch (kind.type) {
    case 'string':
    case 'enum':
      return { ok: true, value: raw };
    case 'duration':
      return DURATION.test(text)
        ? { ok: true, value: text }
        : { ok: false, message: 'a duration in seconds, such as "1s" or "0.5s"' };
    case 'integer': {
      if (!/^-?\d+$/.test(text)) return { ok: false, message: 'a whole number' };
      const n = Number(text);
      if (n < kind.min || (kind.max !== undefined && n > kind.max))
        return { ok: false, message: `from ${kind.min}${kind.max === undefined ? '' : ` to ${kind.max}`}` };
      // 64-bit integers beyond what a double holds exactly stay decimal strings, as protobuf JSON allows.
      return { ok: true, value: Number.isSafeInteger(n) ? n : text };
    }
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: 'a number' };
    }
    case 'json': {
      let value: unknown;
      try {
        value = parse(text);
      } catch (e) {
        return { ok: false, message: `not JSON or YAML: ${(e as Error).message.split('\n')[0]}` };
      }
      if (kind.shape === 'array' && !Array.isArray(value)) return { ok: false, message: 'a list' };
      if (kind.shape === 'object' && !isJsonObject(value)) return { ok: false, message: 'an object' };
      return { ok: true, value: value as JsonValue };
    }
    case 'boolean':
      return { ok: true, value: text === 'true' };
    case 'message':
      return { ok: false, message: 'a message is set field by field' };
  }
}

/** A value as its input shows it. */
export function formatValue(kind: FieldKind, value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (kind.type === 'json') return JSON.stringify(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
