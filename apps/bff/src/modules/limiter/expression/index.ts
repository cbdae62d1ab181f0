/**
 * The SmartLimiter expression language: `condition` and `quota` of a rate-limit descriptor.
 *
 * ## The language
 *
 * - **Metric references** `{{.a.b.c}}` read the key `a.b.c` of a flat metric map such as
 *   `{"_base.pod": 2, "_base.cpu.sum": 8845.137, "v2.cpu.sum": "10598.47"}`. Spaces are allowed inside
 *   the braces (`{{ ._base.pod }}`); key segments are `[A-Za-z0-9_-]+` (subset names may contain `-`);
 *   Go template trim markers (`{{- ._base.pod -}}`) are ignored. An unknown key is an `unknown-key` error
 *   listing the keys that exist and suggesting the probable one.
 * - **Literals**: decimal numbers (`10`, `0.5`, `8845.137`), `true`, `false`.
 * - **Operators**, lowest to highest precedence: `||` / `|` (same meaning); `&&` / `&`; comparisons
 *   `> < >= <= == !=` (non-associative: `a<b<c` is a syntax error); `+ -`; `* /`; unary `!` and `-`;
 *   parentheses. Binary operators associate left. Whitespace is allowed between any two tokens.
 * - **Types**: numbers and booleans. Arithmetic and `< > <= >=` take numbers, `== !=` take two values of
 *   the same type, `! && || & |` take booleans. Types are checked when parsing, before metrics exist.
 *   `&&`/`||` short-circuit, so `{{._base.pod}}>0 && 100/{{._base.pod}}>10` never divides by zero.
 * - **Results**: a condition must be true/false; a quota must be a number and is rounded UP to a whole
 *   number at the end (`100/3` → 34).
 * - **Limits**: at most 4096 characters, nesting at most 64 levels, numbers at most 4096 bits, quotas at
 *   most 2^53. It is a real parser: nothing is ever passed to `eval`.
 *
 * ## Compatibility with Slime
 *
 * Every expression Slime users write (`true`, `{{._base.cpu.sum}}>10`, `100/{{._base.pod}}`,
 * `a>10|b>5`, `a>10&b>5`) gives the same result. Deliberate differences:
 *
 * - **Exact arithmetic.** Slime truncates values to integers and rounds every `/` up; Governor computes
 *   with exact rationals and rounds a quota up once, at the end: `100/3` is still 34, but
 *   `4+5*6+((7+8)/6)-8` is exactly 28.5 (quota 29) where Slime says 29 by rounding `15/6` up to 3.
 * - **Values are not truncated** before comparing: `{{.v1.cpu.sum}}>8845` is true for 8845.137.
 * - **Left associativity**: `10-2-3` is 5; Slime groups chains to the right and gets 11.
 * - **`&` binds tighter than `|`** (as `&&` binds tighter than `||`); in Slime they share one level.
 * - **Division by zero is an error**, not 0: a silent 0 quota would block all traffic.
 * - **A condition must be boolean**: Slime treats a numeric result 1 as true; Governor asks for a
 *   comparison. Comparisons cannot be used as numbers (`(a>b)*10` is a type error).
 *
 * Errors are values, never exceptions: every function returns {@link ExpressionResult}.
 */
export type { ExpressionError, ExpressionErrorKind, ExpressionResult } from './errors';
export { formatExpressionError } from './errors';
export type {
  ArithmeticOperator,
  BinaryExpr,
  BinaryOperator,
  BooleanLiteral,
  ComparisonOperator,
  Expr,
  LogicalOperator,
  NumberLiteral,
  Reference,
  UnaryExpr,
  UnaryOperator,
  ValueType,
} from './parse';
export { MAX_EXPRESSION_LENGTH, MAX_NESTING, hasReferences, parseExpression, referencedKeys } from './parse';
export type { CompiledExpression, ExpressionValue, MetricMap, QuotaValue } from './evaluate';
export { compileExpression, evaluateCondition, evaluateExpression, evaluateQuota } from './evaluate';
export { MAX_BITS, Rational } from './rational';
