/**
 * Lexer for SmartLimiter expressions. Unlike Slime's calculator (which rejects spaces), whitespace may
 * separate any two tokens, and a metric reference may have spaces inside its braces: `{{ ._base.pod }}`.
 */
import { expressionError } from './errors';
import type { ExpressionError, ExpressionResult } from './errors';

/** Every operator the language knows. `|` means `||` and `&` means `&&` (Slime spells them singly). */
export type Operator =
  '||' | '|' | '&&' | '&' | '>' | '<' | '>=' | '<=' | '==' | '!=' | '+' | '-' | '*' | '/' | '!';

/** A token with its span `[pos, end)` in the expression text. */
export type Token =
  | { readonly kind: 'number'; readonly pos: number; readonly end: number; readonly text: string }
  | { readonly kind: 'reference'; readonly pos: number; readonly end: number; readonly key: string }
  | { readonly kind: 'boolean'; readonly pos: number; readonly end: number; readonly value: boolean }
  | { readonly kind: 'operator'; readonly pos: number; readonly end: number; readonly op: Operator }
  | { readonly kind: '(' | ')' | 'end'; readonly pos: number; readonly end: number };

/** Tokens read so far and the first lexical error, if any (the tokens then stop before it). */
export interface LexOutput {
  readonly tokens: Token[];
  readonly error: ExpressionError | null;
}

const TWO_CHAR_OPERATORS: ReadonlySet<string> = new Set(['||', '&&', '>=', '<=', '==', '!=']);
const ONE_CHAR_OPERATORS: ReadonlySet<string> = new Set(['|', '&', '>', '<', '+', '-', '*', '/', '!']);

/** Whitespace allowed between tokens. */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
/** Characters of a metric key segment: `[A-Za-z0-9_-]` (subset names may contain `-`). */
function isKeyChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 95 || c === 45;
}

/** The whole code point at `i`, quoted for messages (`"x"`, `"\u0000"`, `"😀"`). */
function quoteCharAt(text: string, i: number): { shown: string; length: number } {
  const cp = text.codePointAt(i) ?? 0;
  const ch = String.fromCodePoint(cp);
  const length = cp > 0xffff && i + 1 < text.length ? 2 : 1;
  return { shown: JSON.stringify(length === 2 ? ch : text.charAt(i)), length };
}

/**
 * Splits `text` into tokens. Stops at the first lexical error and returns the tokens read before it, so that
 * callers such as `referencedKeys` can still use a partly valid expression.
 */
export function lex(text: string): LexOutput {
  const tokens: Token[] = [];
  const n = text.length;
  const err = (message: string, position: number, length?: number): LexOutput => ({
    tokens,
    error: expressionError('syntax', message, position, n, length === undefined ? {} : { length }),
  });
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c)) {
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (i < n && text.charCodeAt(i) === 46 /* . */) {
        i++;
        if (i >= n || !isDigit(text.charCodeAt(i))) {
          return err(
            `number "${text.slice(start, i)}" at ${start} needs digits after the decimal point`,
            start,
            i - start,
          );
        }
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      }
      if (i < n && (isLetter(text.charCodeAt(i)) || text.charCodeAt(i) === 95)) {
        let j = i;
        while (j < n && isKeyChar(text.charCodeAt(j))) j++;
        return err(
          `unexpected "${text.slice(i, j)}" after the number at ${i}; numbers are plain decimals like 10 or 0.5`,
          i,
          j - i,
        );
      }
      tokens.push({ kind: 'number', pos: start, end: i, text: text.slice(start, i) });
      continue;
    }
    if (isLetter(c) || c === 95 /* _ */) {
      while (
        i < n &&
        (isLetter(text.charCodeAt(i)) || isDigit(text.charCodeAt(i)) || text.charCodeAt(i) === 95)
      )
        i++;
      const word = text.slice(start, i);
      if (word === 'true' || word === 'false') {
        tokens.push({ kind: 'boolean', pos: start, end: i, value: word === 'true' });
        continue;
      }
      const lower = word.toLowerCase();
      const hint =
        lower === 'true' || lower === 'false'
          ? `; did you mean "${lower}"?`
          : lower === 'and' || lower === 'or' || lower === 'not'
            ? `; use ${lower === 'and' ? '"&&"' : lower === 'or' ? '"||"' : '"!"'}`
            : `; metric references are written {{.${word}}}`;
      return err(`unexpected "${word}" at ${start}${hint}`, start, i - start);
    }
    if (c === 123 /* { */) {
      if (text.charCodeAt(i + 1) !== 123) {
        return err(`unexpected "{" at ${start}; metric references are written {{.name}}`, start, 1);
      }
      const ref = lexReference(text, start);
      if ('message' in ref) return err(ref.message, ref.position, ref.length);
      tokens.push({ kind: 'reference', pos: start, end: ref.end, key: ref.key });
      i = ref.end;
      continue;
    }
    if (c === 40 /* ( */ || c === 41 /* ) */) {
      tokens.push({ kind: c === 40 ? '(' : ')', pos: start, end: i + 1 });
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR_OPERATORS.has(two)) {
      tokens.push({ kind: 'operator', pos: start, end: i + 2, op: two as Operator });
      i += 2;
      continue;
    }
    const one = text.charAt(i);
    if (ONE_CHAR_OPERATORS.has(one)) {
      tokens.push({ kind: 'operator', pos: start, end: i + 1, op: one as Operator });
      i++;
      continue;
    }
    if (one === '=') return err(`unexpected "=" at ${start}; use "==" to compare`, start, 1);
    if (one === '.' && i + 1 < n && isDigit(text.charCodeAt(i + 1))) {
      return err(`unexpected "." at ${start}; write a leading zero, e.g. 0.5`, start, 1);
    }
    const { shown, length } = quoteCharAt(text, i);
    return err(`unexpected ${shown} at ${start}`, start, length);
  }
  tokens.push({ kind: 'end', pos: n, end: n });
  return { tokens, error: null };
}

/** Tokenizes the whole text, or returns the first lexical error. */
export function tokenize(text: string): ExpressionResult<Token[]> {
  const out = lex(text);
  return out.error === null ? { ok: true, value: out.tokens } : { ok: false, error: out.error };
}

type RefLex = { key: string; end: number } | { message: string; position: number; length: number };

/**
 * Reads `{{ .a.b-c }}` starting at `start` (which holds `{{`). Go template trim markers are accepted and
 * ignored (`{{- ._base.pod -}}`), so templates copied from Slime manifests keep working.
 */
function lexReference(text: string, start: number): RefLex {
  const n = text.length;
  let i = start + 2;
  if (text.charCodeAt(i) === 45 /* - */ && isSpace(text.charCodeAt(i + 1))) i += 2;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  const close = text.indexOf('}}', start + 2);
  if (i >= n) {
    return {
      message: `unterminated metric reference at ${start}; expected "}}"`,
      position: start,
      length: n - start,
    };
  }
  if (text.charCodeAt(i) !== 46 /* . */) {
    if (text.startsWith('}}', i)) {
      return {
        message: `empty metric reference at ${start}; write {{.name}}`,
        position: start,
        length: i + 2 - start,
      };
    }
    let j = i;
    while (j < n && (isKeyChar(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) j++;
    const word = text.slice(i, j);
    const hint = word !== '' ? `; write {{.${word}}}` : '';
    return {
      message: `metric reference at ${start} must start with "." (a key of the metric map)${hint}`,
      position: i,
      length: Math.max(1, j - i),
    };
  }
  const keyStart = i + 1;
  // One or more segments separated by single dots.
  for (;;) {
    i++; // skip the dot
    const segStart = i;
    while (i < n && isKeyChar(text.charCodeAt(i))) i++;
    if (i === segStart) {
      if (i === keyStart && text.startsWith('}}', i)) {
        return {
          message: `empty metric reference at ${start}: {{.}} is the whole metric map; name a key, e.g. {{._base.pod}}`,
          position: start,
          length: i + 2 - start,
        };
      }
      return badKeyChar(text, start, i, close);
    }
    if (text.charCodeAt(i) !== 46) break;
  }
  const key = text.slice(keyStart, i);
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === 45 /* - */ && text.startsWith('}}', i + 1) && isSpace(text.charCodeAt(i - 1)))
    i++;
  if (text.startsWith('}}', i)) return { key, end: i + 2 };
  if (i >= n) {
    return {
      message: `unterminated metric reference at ${start}; expected "}}"`,
      position: start,
      length: n - start,
    };
  }
  return badKeyChar(text, start, i, close);
}

function badKeyChar(text: string, start: number, i: number, close: number): RefLex {
  if (i >= text.length || close === -1) {
    return {
      message: `unterminated metric reference at ${start}; expected "}}"`,
      position: start,
      length: text.length - start,
    };
  }
  const { shown, length } = quoteCharAt(text, i);
  return {
    message: `unexpected ${shown} in metric reference at ${i}; a key is dot-separated names of letters, digits, "_" and "-", e.g. {{._base.cpu.sum}}`,
    position: i,
    length,
  };
}
