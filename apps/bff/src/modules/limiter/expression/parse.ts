/**
 * Recursive-descent parser and static type checker for SmartLimiter expressions.
 *
 * Grammar, lowest precedence first (all binary operators associate LEFT):
 *
 * ```
 * or      := and (("||" | "|") and)*
 * and     := compare (("&&" | "&") compare)*
 * compare := sum (("<" | ">" | "<=" | ">=" | "==" | "!=") sum)?     -- non-associative
 * sum     := product (("+" | "-") product)*
 * product := unary (("*" | "/") unary)*
 * unary   := ("!" | "-") unary | primary
 * primary := number | "true" | "false" | "{{" "." key "}}" | "(" or ")"
 * ```
 *
 * Slime's calculator differs: `|` and `&` share the lowest level there, and every level groups to the right
 * (`10-2-3` is 11 in Slime, 5 here).
 *
 * Metric references are always numbers and literals have a fixed type, so type errors (`1+true`,
 * `!{{._base.pod}}`) are found here, before any metric value is known.
 */
import { expressionError, fail, ok } from './errors';
import type { ExpressionError, ExpressionResult } from './errors';
import { Rational } from './rational';
import { lex } from './tokenize';
import type { Operator, Token } from './tokenize';

/** Longest expression text accepted; longer text is refused without being tokenized. */
export const MAX_EXPRESSION_LENGTH = 4096;
/** Deepest nesting of parentheses and unary operators accepted. */
export const MAX_NESTING = 64;

/** The two value types of the language. */
export type ValueType = 'number' | 'boolean';

export type ArithmeticOperator = '+' | '-' | '*' | '/';
export type ComparisonOperator = '<' | '>' | '<=' | '>=' | '==' | '!=';
export type LogicalOperator = '||' | '|' | '&&' | '&';
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | LogicalOperator;
export type UnaryOperator = '-' | '!';

interface Span {
  /** Offset of the node's first character (including any parentheses around it). */
  readonly start: number;
  /** Offset just past the node's last character. */
  readonly end: number;
}

export interface NumberLiteral extends Span {
  readonly kind: 'number';
  readonly type: 'number';
  readonly value: Rational;
  /** The literal as written. */
  readonly text: string;
}
export interface BooleanLiteral extends Span {
  readonly kind: 'boolean';
  readonly type: 'boolean';
  readonly value: boolean;
}
export interface Reference extends Span {
  readonly kind: 'reference';
  readonly type: 'number';
  /** Flat dotted metric key, e.g. `_base.cpu.sum`. */
  readonly key: string;
}
export interface UnaryExpr extends Span {
  readonly kind: 'unary';
  readonly type: ValueType;
  readonly op: UnaryOperator;
  readonly operand: Expr;
}
export interface BinaryExpr extends Span {
  readonly kind: 'binary';
  readonly type: ValueType;
  /** The operator as written (`|` and `||` mean the same, as do `&` and `&&`). */
  readonly op: BinaryOperator;
  /** Offset of the operator. */
  readonly opPos: number;
  readonly left: Expr;
  readonly right: Expr;
}

/** A parsed, type-checked expression. */
export type Expr = NumberLiteral | BooleanLiteral | Reference | UnaryExpr | BinaryExpr;

const COMPARISON: ReadonlySet<Operator> = new Set(['<', '>', '<=', '>=', '==', '!=']);

function describeType(t: ValueType): string {
  return t === 'number' ? 'a number' : 'true/false';
}

function describeToken(tok: Token): string {
  switch (tok.kind) {
    case 'end':
      return 'end of expression';
    case 'number':
      return `"${tok.text}"`;
    case 'reference':
      return `metric reference {{.${tok.key}}}`;
    case 'boolean':
      return `"${tok.value ? 'true' : 'false'}"`;
    case 'operator':
      return `"${tok.op}"`;
    default:
      return `"${tok.kind}"`;
  }
}

/** Internal control flow: the first error aborts the parse (never escapes this module). */
class ParseFailure {
  constructor(readonly error: ExpressionError) {}
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): Expr {
    const first = this.peek();
    if (first.kind === 'end') throw this.error('syntax', 'empty expression', 0, 0);
    const expr = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'end') {
      const hint =
        next.kind === ')'
          ? '; there is no matching "("'
          : next.kind === '(' ||
              next.kind === 'number' ||
              next.kind === 'reference' ||
              next.kind === 'boolean'
            ? '; expected an operator before it'
            : '';
      throw this.errorAt('syntax', `unexpected ${describeToken(next)} at ${next.pos}${hint}`, next);
    }
    return expr;
  }

  private peek(): Token {
    // The lexer always ends the list with an 'end' token, and the parser never moves past it.
    return this.tokens[this.i] ?? { kind: 'end', pos: this.text.length, end: this.text.length };
  }

  private advance(): Token {
    const tok = this.peek();
    if (tok.kind !== 'end') this.i++;
    return tok;
  }

  private peekOperator(...ops: Operator[]): Operator | null {
    const tok = this.peek();
    return tok.kind === 'operator' && ops.includes(tok.op) ? tok.op : null;
  }

  private error(
    kind: ExpressionError['kind'],
    message: string,
    position: number,
    length?: number,
  ): ParseFailure {
    return new ParseFailure(
      expressionError(kind, message, position, this.text.length, length === undefined ? {} : { length }),
    );
  }

  /** An error spanning the token `tok`. */
  private errorAt(kind: ExpressionError['kind'], message: string, tok: Token): ParseFailure {
    return this.error(kind, message, tok.pos, tok.end - tok.pos);
  }

  private typeError(
    op: string,
    side: 'left' | 'right' | 'operand',
    node: Expr,
    expected: ValueType,
  ): ParseFailure {
    const what = side === 'operand' ? 'its operand' : `its ${side} side`;
    return this.error(
      'type',
      `operator "${op}" needs ${expected === 'number' ? 'numbers' : 'true/false values'}, but ${what} at ${node.start} is ${describeType(node.type)}`,
      node.start,
      node.end - node.start,
    );
  }

  private binary(op: BinaryOperator, opPos: number, left: Expr, right: Expr): BinaryExpr {
    let type: ValueType;
    if (op === '+' || op === '-' || op === '*' || op === '/') {
      if (left.type !== 'number') throw this.typeError(op, 'left', left, 'number');
      if (right.type !== 'number') throw this.typeError(op, 'right', right, 'number');
      type = 'number';
    } else if (op === '<' || op === '>' || op === '<=' || op === '>=') {
      if (left.type !== 'number') throw this.typeError(op, 'left', left, 'number');
      if (right.type !== 'number') throw this.typeError(op, 'right', right, 'number');
      type = 'boolean';
    } else if (op === '==' || op === '!=') {
      if (left.type !== right.type) {
        throw this.error(
          'type',
          `operator "${op}" at ${opPos} compares values of the same type, but its left side is ${describeType(left.type)} and its right side is ${describeType(right.type)}`,
          opPos,
          op.length,
        );
      }
      type = 'boolean';
    } else {
      if (left.type !== 'boolean') throw this.typeError(op, 'left', left, 'boolean');
      if (right.type !== 'boolean') throw this.typeError(op, 'right', right, 'boolean');
      type = 'boolean';
    }
    return { kind: 'binary', type, op, opPos, left, right, start: left.start, end: right.end };
  }

  /** One level of left-associative operators: `operand (op operand)*`, grouped to the left. */
  private leftAssociative(ops: readonly (ArithmeticOperator | LogicalOperator)[], operand: () => Expr): Expr {
    let left = operand();
    for (let op = this.peekOperator(...ops); op !== null; op = this.peekOperator(...ops)) {
      const opPos = this.advance().pos;
      left = this.binary(op as ArithmeticOperator | LogicalOperator, opPos, left, operand());
    }
    return left;
  }

  private parseOr(): Expr {
    return this.leftAssociative(['||', '|'], () => this.parseAnd());
  }

  private parseAnd(): Expr {
    return this.leftAssociative(['&&', '&'], () => this.parseCompare());
  }

  private parseCompare(): Expr {
    const left = this.parseSum();
    const tok = this.peek();
    if (tok.kind !== 'operator' || !COMPARISON.has(tok.op)) return left;
    this.advance();
    const node = this.binary(tok.op as ComparisonOperator, tok.pos, left, this.parseSum());
    const next = this.peek();
    if (next.kind === 'operator' && COMPARISON.has(next.op)) {
      throw this.errorAt(
        'syntax',
        `comparisons cannot be chained: unexpected "${next.op}" at ${next.pos} after "${tok.op}" at ${tok.pos}; combine them with "&&", e.g. a<b && b<c, or add parentheses`,
        next,
      );
    }
    return node;
  }

  private parseSum(): Expr {
    return this.leftAssociative(['+', '-'], () => this.parseProduct());
  }

  private parseProduct(): Expr {
    return this.leftAssociative(['*', '/'], () => this.parseUnary());
  }

  private enter(tok: Token): void {
    if (++this.depth > MAX_NESTING) {
      throw this.errorAt(
        'too-deep',
        `expression nests deeper than ${MAX_NESTING} levels (parentheses and "!"/"-") at ${tok.pos}`,
        tok,
      );
    }
  }

  private parseUnary(): Expr {
    const tok = this.peek();
    if (tok.kind === 'operator' && (tok.op === '-' || tok.op === '!')) {
      this.advance();
      this.enter(tok);
      const operand = this.parseUnary();
      this.depth--;
      const expected: ValueType = tok.op === '-' ? 'number' : 'boolean';
      if (operand.type !== expected) throw this.typeError(tok.op, 'operand', operand, expected);
      return { kind: 'unary', type: expected, op: tok.op, operand, start: tok.pos, end: operand.end };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const tok = this.advance();
    switch (tok.kind) {
      case 'number': {
        const value = Rational.parseDecimal(tok.text);
        if (typeof value === 'string') {
          throw this.errorAt('overflow', `number at ${tok.pos} is too large (more than 4096 bits)`, tok);
        }
        return { kind: 'number', type: 'number', value, text: tok.text, start: tok.pos, end: tok.end };
      }
      case 'boolean':
        return { kind: 'boolean', type: 'boolean', value: tok.value, start: tok.pos, end: tok.end };
      case 'reference':
        return { kind: 'reference', type: 'number', key: tok.key, start: tok.pos, end: tok.end };
      case '(': {
        this.enter(tok);
        const inner = this.parseOr();
        this.depth--;
        const close = this.peek();
        if (close.kind !== ')') {
          const hint =
            close.kind === 'end'
              ? `; "(" at ${tok.pos} is never closed`
              : `; expected ")" to close "(" at ${tok.pos}`;
          throw this.errorAt('syntax', `unexpected ${describeToken(close)} at ${close.pos}${hint}`, close);
        }
        this.advance();
        // The span of a parenthesized expression includes its parentheses.
        return { ...inner, start: tok.pos, end: close.end };
      }
      default: {
        const hint =
          tok.kind === 'end'
            ? '; expected a number, a metric reference, true, false or "("'
            : tok.kind === ')' || tok.kind === 'operator'
              ? '; expected a value before it'
              : '';
        throw this.errorAt('syntax', `unexpected ${describeToken(tok)} at ${tok.pos}${hint}`, tok);
      }
    }
  }
}

/** Rejects text over {@link MAX_EXPRESSION_LENGTH} characters (and non-strings) without looking further. */
export function checkLength(text: unknown): ExpressionError | null {
  if (typeof text !== 'string') return expressionError('syntax', 'expression must be a string', 0, 0);
  if (text.length > MAX_EXPRESSION_LENGTH) {
    return expressionError(
      'too-long',
      `expression is ${text.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
      MAX_EXPRESSION_LENGTH,
      text.length,
      { length: text.length - MAX_EXPRESSION_LENGTH },
    );
  }
  return null;
}

/**
 * Parses and type-checks an expression without needing metric values, e.g. to validate a condition or
 * quota in an editor before metrics exist.
 *
 * Errors: `too-long`, `syntax`, `too-deep`, `type` (e.g. `1+true`) and `overflow` (a literal beyond 4096
 * bits). Whether a condition is boolean or a quota numeric is checked by the evaluation functions; see
 * {@link Expr.type}.
 */
export function parseExpression(text: string): ExpressionResult<Expr> {
  const tooLong = checkLength(text);
  if (tooLong !== null) return fail(tooLong);
  const lexed = lex(text);
  if (lexed.error !== null) return fail(lexed.error);
  try {
    return ok(new Parser(text, lexed.tokens).parse());
  } catch (e) {
    if (e instanceof ParseFailure) return fail(e.error);
    return fail(
      expressionError('overflow', `expression is too complex to parse: ${String(e)}`, 0, text.length),
    );
  }
}

/**
 * The metric keys an expression references, in order of first appearance, without duplicates. Given text,
 * it reads references lexically, so it also works on an expression with a syntax error (references after
 * the first lexical error are not seen); it returns `[]` for text over the length limit.
 */
export function referencedKeys(source: string | Expr): string[] {
  const keys = new Set<string>();
  if (typeof source === 'string') {
    if (checkLength(source) !== null) return [];
    for (const tok of lex(source).tokens) if (tok.kind === 'reference') keys.add(tok.key);
    return [...keys];
  }
  // Iterative walk in source order (left before right); left-deep chains can be thousands of nodes deep.
  const stack: Expr[] = [source];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.kind === 'reference') keys.add(node.key);
    else if (node.kind === 'unary') stack.push(node.operand);
    else if (node.kind === 'binary') stack.push(node.right, node.left);
  }
  return [...keys];
}

/** True when the expression references at least one metric (`{{...}}`). */
export function hasReferences(source: string | Expr): boolean {
  return referencedKeys(source).length > 0;
}
