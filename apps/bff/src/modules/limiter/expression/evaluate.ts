/**
 * Evaluation of parsed expressions against a metric map. An expression is compiled once into a flat
 * stack program (no recursion at evaluation time) and can then be evaluated many times.
 */
import { expressionError, fail, ok } from './errors';
import type { ExpressionError, ExpressionResult } from './errors';
import { checkLength, parseExpression, referencedKeys } from './parse';
import type { BinaryExpr, Expr, ValueType } from './parse';
import { Rational } from './rational';
import { closeKeys } from '@governor/crd-types';

/**
 * Metric values by FLAT dotted key, e.g. `{"_base.pod": 2, "_base.cpu.sum": 8845.137, "v2.cpu.sum": "10598.47"}`.
 * Strings must be decimal numbers (`"10598.47"`, `"1e-7"`).
 */
export type MetricMap = Readonly<Record<string, number | string>>;

/** The value of an expression. Numbers are exact. */
export type ExpressionValue =
  | { readonly type: 'number'; readonly value: Rational }
  | { readonly type: 'boolean'; readonly value: boolean };

/** The result of a quota expression. */
export interface QuotaValue {
  /** The exact result rounded UP to a whole number (`100/3` → 34). May be 0 or negative: the caller decides. */
  readonly quota: number;
  /** The exact result before rounding: a decimal when it terminates (`28.5`), otherwise a fraction (`100/3`). */
  readonly exact: string;
  /** The exact result as a decimal rounded to at most 6 places, for display (`33.333333`). */
  readonly decimal: string;
  /** The exact result as the nearest JavaScript number. */
  readonly approximate: number;
  /** The exact result. */
  readonly rational: Rational;
}

/** An expression parsed and type-checked once, ready to be evaluated against many metric maps. */
export interface CompiledExpression {
  /** The expression text. */
  readonly source: string;
  readonly ast: Expr;
  /** The static type of the result: `boolean` for a valid condition, `number` for a valid quota. */
  readonly type: ValueType;
  /** The metric keys referenced, in order of first appearance, without duplicates. */
  readonly keys: readonly string[];
  /** Evaluates to a number or a boolean. */
  evaluate(metrics: MetricMap): ExpressionResult<ExpressionValue>;
  /** Evaluates as a condition (must be true/false). */
  evaluateCondition(metrics: MetricMap): ExpressionResult<boolean>;
  /** Evaluates as a quota (must be a number; rounded up to a whole number). */
  evaluateQuota(metrics: MetricMap): ExpressionResult<QuotaValue>;
}

/** Instructions of the stack program. */
type Instr =
  | { readonly op: 'push'; readonly value: Rational | boolean }
  | { readonly op: 'load'; readonly slot: number }
  | { readonly op: 'neg' | 'not' }
  | { readonly op: 'binary'; readonly node: BinaryExpr }
  // Short-circuit for `&&`/`&` (jump when the top is false) and `||`/`|` (jump when true): on a jump the
  // top stays as the result; otherwise it is popped and the right side computes the result.
  | { readonly op: 'jump-if'; readonly when: boolean; target: number };

interface Program {
  readonly code: readonly Instr[];
  /** Per slot: the key and the span of its first reference (for error positions). */
  readonly slots: readonly { readonly key: string; readonly start: number; readonly end: number }[];
}

function compileProgram(ast: Expr): Program {
  const code: Instr[] = [];
  const slots: { key: string; start: number; end: number }[] = [];
  const slotOf = new Map<string, number>();
  // Recursion depth equals AST depth: at most 64 nested levels plus left-deep operator chains, which the
  // 4096-character limit keeps to about two thousand.
  const emit = (node: Expr): void => {
    switch (node.kind) {
      case 'number':
        code.push({ op: 'push', value: node.value });
        return;
      case 'boolean':
        code.push({ op: 'push', value: node.value });
        return;
      case 'reference': {
        let slot = slotOf.get(node.key);
        if (slot === undefined) {
          slot = slots.length;
          slotOf.set(node.key, slot);
          slots.push({ key: node.key, start: node.start, end: node.end });
        }
        code.push({ op: 'load', slot });
        return;
      }
      case 'unary':
        emit(node.operand);
        code.push({ op: node.op === '-' ? 'neg' : 'not' });
        return;
      case 'binary': {
        emit(node.left);
        if (node.op === '&&' || node.op === '&' || node.op === '||' || node.op === '|') {
          const jump: Instr = { op: 'jump-if', when: node.op === '||' || node.op === '|', target: -1 };
          code.push(jump);
          emit(node.right);
          jump.target = code.length;
          return;
        }
        emit(node.right);
        code.push({ op: 'binary', node });
        return;
      }
    }
  };
  emit(ast);
  return { code, slots };
}

/** Signals a broken invariant of the compiler (static types guarantee operand types). */
function internal(text: string): ExpressionError {
  return expressionError('type', 'internal error: operand of unexpected type', 0, text.length);
}

function describeValue(v: number | string): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Resolves one metric to an exact number, or the error explaining why it cannot be. */
function resolve(
  text: string,
  metrics: MetricMap,
  slot: { readonly key: string; readonly start: number; readonly end: number },
): Rational | ExpressionError {
  const { key, start, end } = slot;
  const raw: unknown = Object.hasOwn(metrics, key) ? metrics[key] : undefined;
  if (raw === undefined) return unknownKey(text, metrics, key, start, end - start);
  const at = `at ${start}`;
  if (typeof raw !== 'number' && typeof raw !== 'string') {
    return expressionError(
      'bad-value',
      `metric "${key}" (${at}) has a value of type ${raw === null ? 'null' : typeof raw}, not a number`,
      start,
      text.length,
      {
        length: end - start,
        key,
      },
    );
  }
  const value = typeof raw === 'number' ? Rational.fromNumber(raw) : Rational.parseDecimal(raw);
  if (value === 'invalid') {
    return expressionError(
      'bad-value',
      `metric "${key}" (${at}) has value ${describeValue(raw)}, which is not a finite decimal number`,
      start,
      text.length,
      {
        length: end - start,
        key,
      },
    );
  }
  if (value === 'out-of-range') {
    return expressionError(
      'overflow',
      `metric "${key}" (${at}) has value ${describeValue(raw)}, which is out of range`,
      start,
      text.length,
      {
        length: end - start,
        key,
      },
    );
  }
  return value;
}

/** Longest list of known keys written into a message (the `knownKeys` field always has all of them). */
const MAX_KEYS_IN_MESSAGE = 100;

function unknownKey(
  text: string,
  metrics: MetricMap,
  key: string,
  start: number,
  length: number,
): ExpressionError {
  const known = Object.keys(metrics).sort();
  const shown =
    known.length === 0
      ? '(none)'
      : known.length > MAX_KEYS_IN_MESSAGE
        ? `${known.slice(0, MAX_KEYS_IN_MESSAGE).join(', ')}, … (${known.length - MAX_KEYS_IN_MESSAGE} more)`
        : known.join(', ');
  let message = `unknown metric "${key}"; known: ${shown}`;
  const children = known.filter((k) => k.startsWith(`${key}.`));
  let suggestions: string[];
  const quoted = (ks: readonly string[]): string => ks.map((k) => `"${k}"`).join(' or ');
  if (children.length > 0) {
    suggestions = children.slice(0, 3);
    message += `; "${key}" is only a prefix of metric keys: did you mean ${quoted(suggestions)}?`;
  } else {
    suggestions = closeKeys(key, known, 3);
    if (suggestions.length > 0) message += `; did you mean ${quoted(suggestions)}?`;
  }
  return expressionError('unknown-key', message, start, text.length, {
    length,
    key,
    knownKeys: known,
    suggestions,
  });
}

function divisorNote(node: BinaryExpr): string {
  return node.right.kind === 'reference' ? ` (metric "${node.right.key}" is 0)` : '';
}

/** Runs a program. Reference errors come first (in order), so an unknown key is reported even in a branch
 * that short-circuit evaluation skips. */
function run(text: string, program: Program, metrics: MetricMap): ExpressionResult<Rational | boolean> {
  const values: Rational[] = [];
  for (const slot of program.slots) {
    const v = resolve(text, metrics, slot);
    if (!(v instanceof Rational)) return fail(v);
    values.push(v);
  }
  const stack: (Rational | boolean)[] = [];
  const code = program.code;
  for (let pc = 0; pc < code.length; pc++) {
    const ins = code[pc];
    if (ins === undefined) break;
    switch (ins.op) {
      case 'push':
        stack.push(ins.value);
        break;
      case 'load': {
        const v = values[ins.slot];
        if (v === undefined) return fail(internal(text));
        stack.push(v);
        break;
      }
      case 'neg': {
        const v = stack.pop();
        if (!(v instanceof Rational)) return fail(internal(text));
        stack.push(v.neg());
        break;
      }
      case 'not': {
        const v = stack.pop();
        if (typeof v !== 'boolean') return fail(internal(text));
        stack.push(!v);
        break;
      }
      case 'jump-if': {
        const v = stack[stack.length - 1];
        if (typeof v !== 'boolean') return fail(internal(text));
        if (v === ins.when) pc = ins.target - 1;
        else stack.pop();
        break;
      }
      case 'binary': {
        const b = stack.pop();
        const a = stack.pop();
        const node = ins.node;
        const op = node.op;
        if (op === '==' || op === '!=') {
          if (a === undefined || b === undefined) return fail(internal(text));
          const same = a instanceof Rational && b instanceof Rational ? a.equals(b) : a === b;
          stack.push(op === '==' ? same : !same);
          break;
        }
        if (!(a instanceof Rational) || !(b instanceof Rational)) return fail(internal(text));
        let r: Rational;
        switch (op) {
          case '+':
            r = a.add(b);
            break;
          case '-':
            r = a.sub(b);
            break;
          case '*':
            r = a.mul(b);
            break;
          case '/':
            // Slime's calculator yields 0 for x/0; Governor refuses, since a silent 0 quota blocks all traffic.
            if (b.isZero()) {
              return fail(
                expressionError(
                  'division-by-zero',
                  `division by zero at ${node.opPos}${divisorNote(node)}`,
                  node.opPos,
                  text.length,
                  node.right.kind === 'reference' ? { length: 1, key: node.right.key } : { length: 1 },
                ),
              );
            }
            r = a.div(b);
            break;
          case '<':
            stack.push(a.compare(b) < 0);
            continue;
          case '>':
            stack.push(a.compare(b) > 0);
            continue;
          case '<=':
            stack.push(a.compare(b) <= 0);
            continue;
          case '>=':
            stack.push(a.compare(b) >= 0);
            continue;
          default:
            return fail(internal(text));
        }
        if (r.exceedsLimit()) {
          return fail(
            expressionError(
              'overflow',
              `result of "${op}" at ${node.opPos} is too large (more than 4096 bits)`,
              node.opPos,
              text.length,
              { length: 1 },
            ),
          );
        }
        stack.push(r);
        break;
      }
    }
  }
  const result = stack.pop();
  if (result === undefined || stack.length !== 0) return fail(internal(text));
  return ok(result);
}

function conditionTypeError(text: string, ast: Expr): ExpressionError {
  return expressionError(
    'type',
    `a condition must be true/false, but this expression is a number; compare it with > < >= <= == or !=${
      text.trim().length <= 60 ? `, e.g. ${text.trim()}>0` : ''
    }`,
    ast.start,
    text.length,
    { length: ast.end - ast.start },
  );
}

function quotaTypeError(text: string, ast: Expr): ExpressionError {
  return expressionError(
    'type',
    'a quota must be a number, but this expression is true/false',
    ast.start,
    text.length,
    { length: ast.end - ast.start },
  );
}

/** Rounds an exact quota up; refuses magnitudes a JavaScript number cannot hold exactly. */
function toQuota(text: string, ast: Expr, value: Rational): ExpressionResult<QuotaValue> {
  const whole = value.ceil();
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (whole > max || whole < -max) {
    const shown = value.toFixedString(0);
    return fail(
      expressionError(
        'overflow',
        `quota ${shown.length > 40 ? `${shown.slice(0, 20)}…(${shown.length} digits)` : shown} is beyond 2^53`,
        ast.start,
        text.length,
        { length: ast.end - ast.start },
      ),
    );
  }
  return ok({
    quota: Number(whole),
    exact: value.toExactString(),
    decimal: value.toFixedString(6),
    approximate: value.toNumber(),
    rational: value,
  });
}

/** Converts an unexpected exception (a bug, or exhausted resources) into an error value. */
function unexpected(text: string, e: unknown): ExpressionError {
  return expressionError(
    'overflow',
    `expression could not be evaluated: ${e instanceof Error ? e.message : String(e)}`,
    0,
    typeof text === 'string' ? text.length : 0,
  );
}

class Compiled implements CompiledExpression {
  readonly keys: readonly string[];
  readonly type: ValueType;
  private readonly program: Program;

  constructor(
    readonly source: string,
    readonly ast: Expr,
  ) {
    this.type = ast.type;
    this.keys = referencedKeys(ast);
    this.program = compileProgram(ast);
  }

  evaluate(metrics: MetricMap): ExpressionResult<ExpressionValue> {
    try {
      const r = run(this.source, this.program, metrics);
      if (!r.ok) return r;
      return ok(
        typeof r.value === 'boolean'
          ? { type: 'boolean', value: r.value }
          : { type: 'number', value: r.value },
      );
    } catch (e) {
      return fail(unexpected(this.source, e));
    }
  }

  evaluateCondition(metrics: MetricMap): ExpressionResult<boolean> {
    if (this.type !== 'boolean') return fail(conditionTypeError(this.source, this.ast));
    const r = this.evaluate(metrics);
    if (!r.ok) return r;
    return r.value.type === 'boolean' ? ok(r.value.value) : fail(conditionTypeError(this.source, this.ast));
  }

  evaluateQuota(metrics: MetricMap): ExpressionResult<QuotaValue> {
    if (this.type !== 'number') return fail(quotaTypeError(this.source, this.ast));
    const r = this.evaluate(metrics);
    if (!r.ok) return r;
    if (r.value.type !== 'number') return fail(quotaTypeError(this.source, this.ast));
    try {
      return toQuota(this.source, this.ast, r.value.value);
    } catch (e) {
      return fail(unexpected(this.source, e));
    }
  }
}

/**
 * Parses and type-checks `text` once; the returned object evaluates it against any number of metric maps.
 * Fails with the errors of {@link parseExpression}.
 */
export function compileExpression(text: string): ExpressionResult<CompiledExpression> {
  try {
    const tooLong = checkLength(text);
    if (tooLong !== null) return fail(tooLong);
    const parsed = parseExpression(text);
    if (!parsed.ok) return parsed;
    return ok(new Compiled(text, parsed.value));
  } catch (e) {
    return fail(unexpected(text, e));
  }
}

/** Compiled expressions by text, so repeated evaluation of the same text parses once. Bounded. */
const cache = new Map<string, ExpressionResult<CompiledExpression>>();
const CACHE_SIZE = 512;

/** An expression: its text, or what {@link compileExpression} made of it. */
type Source = string | CompiledExpression;

function compiledFor(source: Source): ExpressionResult<CompiledExpression> {
  if (source instanceof Compiled) return ok(source);
  // Anything else that is not a string (from an untyped caller) fails the checks of compileExpression.
  if (typeof source !== 'string') return compileExpression(source as unknown as string);
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const compiled = compileExpression(source);
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(source, compiled);
  return compiled;
}

/**
 * Evaluates a `condition`: true or false. `"true"` and `"false"` are literals. A numeric result is a
 * `type` error (Slime treated 1 as true; Governor asks for a comparison).
 */
export function evaluateCondition(expr: Source, metrics: MetricMap): ExpressionResult<boolean> {
  const compiled = compiledFor(expr);
  return compiled.ok ? compiled.value.evaluateCondition(metrics) : compiled;
}

/**
 * Evaluates a `quota`: the exact result rounded UP to a whole number (`100/3` → 34), with the exact value
 * for display. A boolean result is a `type` error; a magnitude beyond 2^53 is an `overflow` error. Zero or
 * negative quotas are returned as they are: the caller validates them.
 */
export function evaluateQuota(expr: Source, metrics: MetricMap): ExpressionResult<QuotaValue> {
  const compiled = compiledFor(expr);
  return compiled.ok ? compiled.value.evaluateQuota(metrics) : compiled;
}

/** Evaluates an expression to a number or boolean, whichever it yields. */
export function evaluateExpression(expr: Source, metrics: MetricMap): ExpressionResult<ExpressionValue> {
  const compiled = compiledFor(expr);
  return compiled.ok ? compiled.value.evaluate(metrics) : compiled;
}
