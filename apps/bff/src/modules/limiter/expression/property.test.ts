import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExpressionError, ExpressionResult } from './errors';
import {
  compileExpression,
  evaluateCondition,
  evaluateExpression,
  evaluateQuota,
  formatExpressionError,
  hasReferences,
  parseExpression,
  referencedKeys,
  type MetricMap,
} from './index';

const KINDS = new Set([
  'syntax',
  'unknown-key',
  'division-by-zero',
  'type',
  'too-long',
  'too-deep',
  'bad-value',
  'overflow',
]);

/** Throws (failing the property) unless `r` is a success or a well-formed error for `text`. */
function checkResult<T>(text: string, r: ExpressionResult<T>): void {
  if (r.ok) return;
  const e: ExpressionError = r.error;
  expect(KINDS.has(e.kind)).toBe(true);
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(Number.isInteger(e.position)).toBe(true);
  expect(e.position).toBeGreaterThanOrEqual(0);
  expect(e.position).toBeLessThanOrEqual(text.length);
  if (e.length !== undefined) {
    expect(Number.isInteger(e.length)).toBe(true);
    expect(e.length).toBeGreaterThanOrEqual(0);
    expect(e.position + e.length).toBeLessThanOrEqual(text.length);
  }
  expect(typeof formatExpressionError(e, text)).toBe('string');
}

function checkEverything(text: string, metrics: MetricMap): void {
  checkResult(text, parseExpression(text));
  checkResult(text, compileExpression(text));
  checkResult(text, evaluateQuota(text, metrics));
  checkResult(text, evaluateCondition(text, metrics));
  checkResult(text, evaluateExpression(text, metrics));
  expect(Array.isArray(referencedKeys(text))).toBe(true);
  expect(typeof hasReferences(text)).toBe('boolean');
}

const METRICS: MetricMap = {
  '_base.pod': 3,
  '_base.cpu.sum': 8845.137,
  'v1.cpu.sum': '10598.47',
  'canary-v2.pod': 0,
  bad: 'lots',
};

const pieces = [
  ...'0123456789.+-*/<>=!&|(){} _abc\t\n'.split(''),
  '{{',
  '}}',
  '{{.',
  '{{._base.pod}}',
  '{{ .v1.cpu.sum }}',
  '{{.bad}}',
  '{{.nope}}',
  'true',
  'false',
  '&&',
  '||',
  '😀',
  '\u0000',
  'é',
  '\ud800',
  '\u00a0',
];

describe('robustness (property)', () => {
  it('never throws on random mixes of operator characters, digits, braces and unicode', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...pieces), maxLength: 60 }), (text) => {
        checkEverything(text, METRICS);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary unicode text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ unit: 'grapheme', maxLength: 80 }),
          fc.string({ unit: 'binary-ascii', maxLength: 80 }),
          fc.string({
            unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
            maxLength: 8,
          }),
        ),
        (text) => {
          checkEverything(text, METRICS);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on long text near and over the size limit', () => {
    fc.assert(
      fc.property(fc.constantFrom(...pieces), fc.integer({ min: 1000, max: 5000 }), (piece, times) => {
        const text = piece.repeat(Math.ceil(times / Math.max(1, piece.length))).slice(0, times);
        checkEverything(text, METRICS);
        if (text.length > 4096)
          expect(parseExpression(text)).toMatchObject({ ok: false, error: { kind: 'too-long' } });
      }),
      { numRuns: 150 },
    );
  });

  it('never throws on expression-like text built from the grammar', () => {
    const space = fc.constantFrom('', '', ' ', '  ', '\t');
    const number = fc.oneof(
      fc.nat({ max: 1000 }).map(String),
      fc.constantFrom('0', '0.5', '8845.137', '1.000', '99999999999999999999'),
    );
    const reference = fc
      .constantFrom(
        '_base.pod',
        '_base.cpu.sum',
        'v1.cpu.sum',
        'canary-v2.pod',
        'bad',
        'base.cpu.sum',
        '_base.cpu',
      )
      .chain((key) => space.map((s) => `{{${s}.${key}${s}}}`));
    const binaryOp = fc.constantFrom(
      '+',
      '-',
      '*',
      '/',
      '<',
      '>',
      '<=',
      '>=',
      '==',
      '!=',
      '&&',
      '||',
      '&',
      '|',
    );
    const { expr } = fc.letrec<{ expr: string }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        number,
        reference,
        fc.constantFrom('true', 'false'),
        fc.tuple(tie('expr'), space, binaryOp, space, tie('expr')).map((parts) => parts.join('')),
        fc.tuple(fc.constantFrom('-', '!'), space, tie('expr')).map((parts) => parts.join('')),
        fc.tuple(space, tie('expr'), space).map(([a, e, b]) => `(${a}${e}${b})`),
      ),
    }));
    // Occasionally damage the expression: drop or insert a character.
    const damaged = fc.oneof(
      { weight: 4, arbitrary: expr },
      fc.tuple(expr, fc.nat(), fc.constantFrom(...pieces)).map(([e, at, p]) => {
        const i = e.length === 0 ? 0 : at % e.length;
        return e.slice(0, i) + p + e.slice(i + 1);
      }),
    );
    const metrics = fc.dictionary(
      fc.constantFrom('_base.pod', '_base.cpu.sum', 'v1.cpu.sum', 'canary-v2.pod', 'bad'),
      fc.oneof(fc.double(), fc.integer(), fc.constantFrom('1e-7', '10598.47', 'NaN', 'x', '', '1e99999')),
    );
    fc.assert(
      fc.property(damaged, metrics, (text, m) => {
        checkEverything(text, m);
        const parsed = parseExpression(text);
        if (parsed.ok) {
          // Only evaluation-time errors can remain once an expression parses.
          const r = evaluateExpression(text, m);
          if (!r.ok)
            expect(['unknown-key', 'division-by-zero', 'bad-value', 'overflow']).toContain(r.error.kind);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

type Tree =
  | { readonly k: 'lit'; readonly v: bigint }
  | { readonly k: 'ref'; readonly key: string }
  | { readonly k: 'neg'; readonly e: Tree }
  | { readonly k: 'bin'; readonly op: '+' | '-' | '*'; readonly l: Tree; readonly r: Tree };

const REF_VALUES: Readonly<Record<string, bigint>> = { 'a.pod': 7n, 'b.cpu.sum': -12n, 'c-1.x': 1000000007n };

function reference(t: Tree): bigint {
  switch (t.k) {
    case 'lit':
      return t.v;
    case 'ref':
      return REF_VALUES[t.key] ?? 0n;
    case 'neg':
      return -reference(t.e);
    case 'bin': {
      const l = reference(t.l);
      const r = reference(t.r);
      return t.op === '+' ? l + r : t.op === '-' ? l - r : l * r;
    }
  }
}

const PREC = { '+': 1, '-': 1, '*': 2 } as const;
function precOf(t: Tree): number {
  if (t.k === 'bin') return PREC[t.op];
  if (t.k === 'neg' || (t.k === 'lit' && t.v < 0n)) return 3;
  return 4;
}

/** Renders with as few parentheses as precedence and left associativity allow. */
function renderMinimal(t: Tree, sp: string): string {
  const wrap = (child: Tree, min: number): string => {
    const s = renderMinimal(child, sp);
    return precOf(child) < min ? `(${s})` : s;
  };
  switch (t.k) {
    case 'lit':
      return t.v < 0n ? `-${-t.v}` : `${t.v}`;
    case 'ref':
      return `{{${sp}.${t.key}${sp}}}`;
    case 'neg':
      return `-${wrap(t.e, 3)}`;
    case 'bin':
      // The right operand of a left-associative operator needs parentheses at equal precedence.
      return `${wrap(t.l, PREC[t.op])}${sp}${t.op}${sp}${wrap(t.r, PREC[t.op] + 1)}`;
  }
}

function renderFull(t: Tree): string {
  switch (t.k) {
    case 'lit':
      return `(${t.v})`;
    case 'ref':
      return `{{.${t.key}}}`;
    case 'neg':
      return `(-${renderFull(t.e)})`;
    case 'bin':
      return `(${renderFull(t.l)}${t.op}${renderFull(t.r)})`;
  }
}

describe('exact integer arithmetic (property)', () => {
  const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', maxDepth: 6 },
      fc.bigInt({ min: -1000000n, max: 1000000n }).map((v): Tree => ({ k: 'lit', v })),
      fc.constantFrom(...Object.keys(REF_VALUES)).map((key): Tree => ({ k: 'ref', key })),
      tie('tree').map((e): Tree => ({ k: 'neg', e })),
      fc
        .tuple(fc.constantFrom('+' as const, '-' as const, '*' as const), tie('tree'), tie('tree'))
        .map(([op, l, r]): Tree => ({ k: 'bin', op, l, r })),
    ),
  }));
  const metrics: MetricMap = Object.fromEntries(
    Object.entries(REF_VALUES).map(([k, v]) => [k, v.toString()]),
  );

  it('matches a BigInt reference, with minimal or full parentheses and any spacing', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom('', ' ', '\n'), (t, sp) => {
        const expected = reference(t).toString();
        for (const text of [renderMinimal(t, sp), renderFull(t)]) {
          const r = evaluateExpression(text, metrics);
          if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
          expect(r.value.type === 'number' && r.value.value.toExactString()).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('chains of + and - associate left', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.array(fc.tuple(fc.constantFrom('+', '-'), fc.bigInt({ min: 0n, max: 10n ** 12n })), {
          maxLength: 30,
        }),
        (first, rest) => {
          const text = `${first}${rest.map(([op, v]) => `${op}${v}`).join('')}`;
          const expected = rest.reduce((acc, [op, v]) => (op === '+' ? acc + v : acc - v), first);
          const r = evaluateExpression(text, {});
          expect(r.ok && r.value.type === 'number' && r.value.value.toExactString()).toBe(
            expected.toString(),
          );
        },
      ),
    );
  });

  it('a quota is the exact quotient rounded up', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }).filter((d) => d !== 0n),
        (a, b) => {
          const q = a / b;
          const ceil = q * b !== a && a < 0n === b < 0n ? q + 1n : q;
          const r = evaluateQuota(`${a}/(${b})`, {});
          expect(r.ok && r.value.quota).toBe(Number(ceil));
        },
      ),
    );
  });

  it('decimal sums and comparisons are exact', () => {
    // A decimal with up to 6 places as text, and the same value scaled by 10^6 as a BigInt.
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.nat({ max: 999999 }))
      .map(([whole, frac]): [string, bigint] => {
        const negative = whole < 0n;
        const text = `${whole}.${String(frac).padStart(6, '0')}`;
        const scaled = whole * 1000000n + (negative ? -BigInt(frac) : BigInt(frac));
        return [text, scaled];
      });
    fc.assert(
      fc.property(decimal, decimal, ([xt, xs], [yt, ys]) => {
        const sum = evaluateExpression(`${xt}+(${yt})`, {});
        const expected = evaluateExpression(`${xs + ys}/1000000`, {});
        expect(sum.ok && expected.ok).toBe(true);
        if (sum.ok && expected.ok && sum.value.type === 'number' && expected.value.type === 'number') {
          expect(sum.value.value.equals(expected.value.value)).toBe(true);
        }
        expect(evaluateCondition(`${xt}<(${yt})`, {})).toEqual({ ok: true, value: xs < ys });
        expect(evaluateCondition(`{{.x}}>={{.y}}`, { x: xt, y: yt })).toEqual({ ok: true, value: xs >= ys });
      }),
    );
  });
});
