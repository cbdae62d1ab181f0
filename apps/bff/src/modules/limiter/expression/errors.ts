/**
 * Error values of the SmartLimiter expression language. Nothing in the public API throws: every failure is
 * an {@link ExpressionError} inside an {@link ExpressionResult}.
 */

/** What went wrong; stable identifiers that callers may switch on. */
export type ExpressionErrorKind =
  'syntax' | 'unknown-key' | 'division-by-zero' | 'type' | 'too-long' | 'too-deep' | 'bad-value' | 'overflow';

/** A failure to parse or evaluate an expression. */
export interface ExpressionError {
  readonly kind: ExpressionErrorKind;
  /** Human-readable and self-contained (it names the offending token, metric or operator). */
  readonly message: string;
  /** 0-based offset (UTF-16 code units) into the expression text; always within `0..text.length`. */
  readonly position: number;
  /** Length of the offending span, when there is one; `position + length <= text.length`. */
  readonly length?: number;
  /** The metric key concerned (`unknown-key`, `bad-value`, and division by a metric that is 0). */
  readonly key?: string;
  /** For `unknown-key`: every key the metric map has, sorted. */
  readonly knownKeys?: readonly string[];
  /** For `unknown-key`: the keys the author probably meant, best first. */
  readonly suggestions?: readonly string[];
}

/** Success with a value, or a typed error. */
export type ExpressionResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ExpressionError };

/** A successful result. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** A failed result. */
export function fail(error: ExpressionError): { readonly ok: false; readonly error: ExpressionError } {
  return { ok: false, error };
}

/** Builds an error, clamping its span into the text so positions are always valid offsets. */
export function expressionError(
  kind: ExpressionErrorKind,
  message: string,
  position: number,
  textLength: number,
  extra: {
    length?: number;
    key?: string;
    knownKeys?: readonly string[];
    suggestions?: readonly string[];
  } = {},
): ExpressionError {
  const pos = Math.max(0, Math.min(Math.trunc(position), textLength));
  const error: {
    kind: ExpressionErrorKind;
    message: string;
    position: number;
    length?: number;
    key?: string;
    knownKeys?: readonly string[];
    suggestions?: readonly string[];
  } = { kind, message, position: pos };
  if (extra.length !== undefined)
    error.length = Math.max(0, Math.min(Math.trunc(extra.length), textLength - pos));
  if (extra.key !== undefined) error.key = extra.key;
  if (extra.knownKeys !== undefined) error.knownKeys = extra.knownKeys;
  if (extra.suggestions !== undefined) error.suggestions = extra.suggestions;
  return error;
}

/** How many columns of a long line {@link formatExpressionError} shows around the error. */
const WINDOW = 100;

/**
 * Renders an error for a terminal: the message, then the line of the expression that holds the error with a
 * caret line under the offending span. Multi-line expressions also name the line and column; long lines are
 * cut to a window around the error.
 *
 * ```
 * division by zero at 4
 *   10 / 0
 *      ^
 * ```
 */
export function formatExpressionError(err: ExpressionError, expr: string): string {
  const position = Math.max(0, Math.min(Math.trunc(err.position) || 0, expr.length));
  // (lastIndexOf treats a negative start as 0, so position 0 needs its own case.)
  const lineStart = position === 0 ? 0 : expr.lastIndexOf('\n', position - 1) + 1;
  const newline = expr.indexOf('\n', position);
  const lineEnd = newline === -1 ? expr.length : newline;
  const multiLine = lineStart > 0 || lineEnd < expr.length;
  // Characters that would break the caret alignment are shown as single spaces.
  let line = expr.slice(lineStart, lineEnd).replace(/[\t\r\v\f]/g, ' ');
  let column = position - lineStart;
  const spanLength = Math.max(1, Math.min(err.length ?? 1, lineEnd - position || 1));

  let prefix = '';
  if (line.length > WINDOW) {
    const from = Math.max(0, Math.min(column - Math.floor(WINDOW / 3), line.length - WINDOW));
    const to = Math.min(line.length, from + WINDOW);
    prefix = from > 0 ? '…' : '';
    line = prefix + line.slice(from, to) + (to < line.length ? '…' : '');
    column = column - from + prefix.length;
  }
  const caretLength = Math.max(1, Math.min(spanLength, line.length - column));
  const header = multiLine
    ? `${err.message} (line ${countLines(expr, lineStart)}, column ${position - lineStart + 1})`
    : err.message;
  return `${header}\n  ${line}\n  ${' '.repeat(column)}${'^'.repeat(caretLength)}`;
}

function countLines(text: string, upTo: number): number {
  let lines = 1;
  for (let i = 0; i < upTo; i++) if (text.charCodeAt(i) === 10) lines++;
  return lines;
}
