import { describe, expect, it } from 'vitest';
import type { ExpressionError, ExpressionResult } from './errors';
import {
  compileExpression,
  evaluateCondition,
  evaluateExpression,
  evaluateQuota,
  type MetricMap,
} from './index';

const metrics: MetricMap = {
  '_base.pod': 3,
  '_base.cpu.sum': 8845.137,
  '_base.cpu.max': '10',
  'v1.epNum': 2,
  'v1.cpu.sum': 8845.137062837,
  'v2.cpu.sum': '10598.47',
  'canary-v3.pod': 1,
  _ratelimit: 100,
};

function value<T>(r: ExpressionResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}
function error<T>(r: ExpressionResult<T>): ExpressionError {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}
const quota = (expr: string, m: MetricMap = metrics): number => value(evaluateQuota(expr, m)).quota;
const exact = (expr: string, m: MetricMap = metrics): string => {
  const v = value(evaluateExpression(expr, m));
  if (v.type !== 'number') throw new Error(`${expr} is not a number`);
  return v.value.toExactString();
};
const cond = (expr: string, m: MetricMap = metrics): boolean => value(evaluateCondition(expr, m));

describe("Slime's calculator examples", () => {
  it('gives the same results as Slime', () => {
    expect(quota('11+1')).toBe(12);
    expect(quota('16/2')).toBe(8);
    expect(quota('15-23')).toBe(-8);
    expect(quota('35*23')).toBe(805);
    expect(quota('10')).toBe(10);
    expect(cond('4+5*6+((7+8)/6)>10')).toBe(true);
    expect(cond('4+5*6+((7+8)/6)>10|16/2>10')).toBe(true);
    expect(cond('4+5*6+((7+8)/6)>10&16/2>10')).toBe(false);
    expect(cond('true')).toBe(true);
    expect(cond('false')).toBe(false);
    expect(quota('{{._ratelimit}}/{{.v1.epNum}}', { _ratelimit: 100, 'v1.epNum': 2 })).toBe(50);
    expect(cond('{{.v1.cpu.sum}}>8000', { 'v1.cpu.sum': 8845.137062837 })).toBe(true);
  });

  it('keeps decimals exact where Slime rounds each division up', () => {
    // Slime: (7+8)/6 = 3, so 29. Governor: exactly 28.5, a quota of 29.
    expect(exact('4+5*6+((7+8)/6)-8')).toBe('28.5');
    expect(quota('4+5*6+((7+8)/6)-8')).toBe(29);
  });

  it('associates left where Slime groups right', () => {
    expect(quota('10-2-3')).toBe(5); // Slime: 10-(2-3) = 11
    expect(quota('64/4/2')).toBe(8); // Slime: 64/(4/2) = 32
    expect(quota('2*3/4')).toBe(2); // exactly 1.5
  });

  it('reads typical SmartLimiter quotas and conditions', () => {
    expect(quota('100/{{._base.pod}}')).toBe(34);
    expect(exact('100/{{._base.pod}}')).toBe('100/3');
    expect(value(evaluateQuota('100/{{._base.pod}}', metrics)).decimal).toBe('33.333333');
    expect(cond('{{._base.cpu.sum}}>10')).toBe(true);
    expect(cond('{{.v2.cpu.sum}}>10598.46')).toBe(true);
    expect(cond('{{.v2.cpu.sum}}>10598.47')).toBe(false);
    expect(cond('{{._base.cpu.max}}>=10')).toBe(true);
    expect(quota('{{.canary-v3.pod}}*7')).toBe(7);
  });
});

describe('operators', () => {
  it('allows whitespace anywhere between tokens and inside braces', () => {
    expect(quota(' 100 / {{ ._base.pod }} ')).toBe(34);
    expect(quota('\t100\n/\r\n{{._base.pod}}')).toBe(34);
    expect(cond('{{ ._base.cpu.sum }} > 10 && {{._base.pod}} >= 3')).toBe(true);
    expect(quota('{{- ._base.pod -}}')).toBe(3);
  });

  it('compares with > < >= <= == !=', () => {
    expect(cond('3>2')).toBe(true);
    expect(cond('3<2')).toBe(false);
    expect(cond('3>=3')).toBe(true);
    expect(cond('3>=3.0001')).toBe(false);
    expect(cond('2<=2')).toBe(true);
    expect(cond('2.5<=2')).toBe(false);
    expect(cond('2==2.0')).toBe(true);
    expect(cond('0.1*3==0.3')).toBe(true);
    expect(cond('1/3==0.3333333333')).toBe(false);
    expect(cond('2!=3')).toBe(true);
    expect(cond('2!=2')).toBe(false);
    expect(cond('true==true')).toBe(true);
    expect(cond('true!=false')).toBe(true);
    expect(cond('(1<2)==(2<1)')).toBe(false);
  });

  it('does not truncate metric values before comparing (Slime does)', () => {
    expect(cond('{{._base.cpu.sum}}>8845')).toBe(true);
    expect(cond('{{._base.cpu.sum}}==8845.137')).toBe(true);
  });

  it('has && || & | and !', () => {
    expect(cond('true&&false')).toBe(false);
    expect(cond('true&&true')).toBe(true);
    expect(cond('false||true')).toBe(true);
    expect(cond('false||false')).toBe(false);
    expect(cond('true&false')).toBe(false);
    expect(cond('false|true')).toBe(true);
    expect(cond('!false')).toBe(true);
    expect(cond('!!true')).toBe(true);
    expect(cond('!(1>2)')).toBe(true);
    // ! binds tighter than >, so this negates a number.
    expect(error(evaluateCondition('!1>2', {}))).toMatchObject({ kind: 'type', position: 1 });
  });

  it('has unary minus', () => {
    expect(quota('-5')).toBe(-5);
    expect(quota('--5')).toBe(5);
    expect(quota('3--5')).toBe(8);
    expect(quota('3*-2')).toBe(-6);
    expect(quota('-{{._base.pod}}+10')).toBe(7);
    expect(quota('-(2+3)*2')).toBe(-10);
    expect(exact('-7/2')).toBe('-3.5');
    expect(quota('-7/2')).toBe(-3); // rounded up
  });

  it('binds * / over + - over comparisons over && over ||', () => {
    expect(quota('2+3*4')).toBe(14);
    expect(quota('(2+3)*4')).toBe(20);
    expect(quota('12-6/3')).toBe(10);
    expect(cond('1+1>1*1')).toBe(true);
    // & binds tighter than | (in Slime they share one level and group right).
    expect(cond('true|false&false')).toBe(true);
    expect(cond('(true|false)&false')).toBe(false);
    expect(cond('false&false|true')).toBe(true);
    expect(cond('true||false&&false')).toBe(true);
  });

  it('short-circuits && and || so a guard prevents division by zero', () => {
    const noPods = { '_base.pod': 0 };
    expect(cond('{{._base.pod}}>0 && 100/{{._base.pod}}>10', noPods)).toBe(false);
    expect(cond('{{._base.pod}}==0 || 100/{{._base.pod}}>10', noPods)).toBe(true);
    expect(error(evaluateCondition('100/{{._base.pod}}>10 && {{._base.pod}}>0', noPods)).kind).toBe(
      'division-by-zero',
    );
  });

  it('evaluates to either type with evaluateExpression', () => {
    const n = value(evaluateExpression('1/4', {}));
    expect(n.type === 'number' && n.value.toExactString()).toBe('0.25');
    expect(value(evaluateExpression('1<4', {}))).toEqual({ type: 'boolean', value: true });
  });

  it('rounds quotas up at the end', () => {
    expect(quota('100/3')).toBe(34);
    expect(quota('0.1*3*10')).toBe(3);
    expect(quota('0.5')).toBe(1);
    expect(quota('0')).toBe(0);
    expect(quota('-0.5')).toBe(0);
    expect(quota('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    const q = value(evaluateQuota('1/3', {}));
    expect(q).toMatchObject({ quota: 1, exact: '1/3', decimal: '0.333333' });
    expect(q.approximate).toBeCloseTo(1 / 3, 15);
  });
});

describe('metric values', () => {
  it('reads numbers and decimal strings exactly, including exponent forms', () => {
    expect(exact('{{.a}}', { a: 1e-7 })).toBe('0.0000001');
    expect(exact('{{.a}}', { a: 1e21 })).toBe('1000000000000000000000');
    expect(exact('{{.a}}', { a: '2.5e3' })).toBe('2500');
    expect(exact('{{.a}}*3', { a: 0.1 })).toBe('0.3');
    expect(exact('{{.a}}', { a: ' 12.50 ' })).toBe('12.5');
  });

  it('looks up nested dotted keys as flat keys', () => {
    expect(quota('{{.a.b.c}}+{{.a.b}}', { 'a.b.c': 1, 'a.b': 2 })).toBe(3);
  });

  it('does not read inherited properties', () => {
    const e = error(evaluateQuota('{{.constructor}}+{{.toString}}', {}));
    expect(e.kind).toBe('unknown-key');
    expect(e.key).toBe('constructor');
    expect(error(evaluateQuota('{{.__proto__}}', {})).kind).toBe('unknown-key');
  });
});

describe('errors', () => {
  it('unknown key: lists the known keys and suggests the likely one', () => {
    const e = error(evaluateCondition('{{.base.cpu.sum}}>10', { '_base.cpu.sum': 1, '_base.pod': 2 }));
    expect(e).toMatchObject({
      kind: 'unknown-key',
      position: 0,
      length: 17,
      key: 'base.cpu.sum',
      knownKeys: ['_base.cpu.sum', '_base.pod'],
      suggestions: ['_base.cpu.sum'],
    });
    expect(e.message).toBe(
      'unknown metric "base.cpu.sum"; known: _base.cpu.sum, _base.pod; did you mean "_base.cpu.sum"?',
    );
  });

  it('unknown key that is a prefix of known keys', () => {
    const e = error(evaluateQuota('1+{{._base.cpu}}', metrics));
    expect(e.kind).toBe('unknown-key');
    expect(e.position).toBe(2);
    expect(e.message).toContain('unknown metric "_base.cpu"; known: ');
    expect(e.message).toContain('did you mean "_base.cpu.max" or "_base.cpu.sum"?');
    expect(e.message).toContain('prefix');
    expect(e.suggestions).toEqual(['_base.cpu.max', '_base.cpu.sum']);
  });

  it('unknown key with no metrics at all', () => {
    const e = error(evaluateQuota('{{._base.pod}}', {}));
    expect(e.message).toBe('unknown metric "_base.pod"; known: (none)');
    expect(e.knownKeys).toEqual([]);
  });

  it('reports unknown keys even in a branch that short-circuit skips', () => {
    expect(error(evaluateCondition('false && {{.nope}}>1', metrics)).kind).toBe('unknown-key');
  });

  it('bad value', () => {
    const e = error(evaluateQuota('2*{{.a}}', { a: 'lots' }));
    expect(e).toMatchObject({ kind: 'bad-value', position: 2, length: 6, key: 'a' });
    expect(e.message).toContain('"lots"');
    expect(error(evaluateQuota('{{.a}}', { a: Number.NaN })).kind).toBe('bad-value');
    expect(error(evaluateQuota('{{.a}}', { a: Number.POSITIVE_INFINITY })).kind).toBe('bad-value');
    expect(error(evaluateQuota('{{.a}}', { a: 'Infinity' })).kind).toBe('bad-value');
    expect(error(evaluateQuota('{{.a}}', { a: '' })).kind).toBe('bad-value');
    // A value of the wrong JavaScript type from untyped input.
    const untyped = JSON.parse('{"a": null, "b": [1]}') as MetricMap;
    expect(error(evaluateQuota('{{.a}}', untyped)).kind).toBe('bad-value');
    expect(error(evaluateQuota('{{.b}}', untyped)).message).toContain('type object');
  });

  it('division by zero', () => {
    const e = error(evaluateQuota('10 / 0', {}));
    expect(e).toMatchObject({ kind: 'division-by-zero', position: 3, length: 1 });
    expect(e.message).toBe('division by zero at 3');
    const m = error(evaluateQuota('100/{{._base.pod}}', { '_base.pod': 0 }));
    expect(m).toMatchObject({ kind: 'division-by-zero', position: 3, key: '_base.pod' });
    expect(m.message).toBe('division by zero at 3 (metric "_base.pod" is 0)');
    expect(error(evaluateQuota('1/(2-2)', {})).position).toBe(1);
  });

  it('type errors name the operator and point at the operand', () => {
    expect(error(evaluateQuota('1+true', {}))).toMatchObject({ kind: 'type', position: 2, length: 4 });
    expect(error(evaluateQuota('(1>2)*3', {}))).toMatchObject({ kind: 'type', position: 0, length: 5 });
    expect(error(evaluateCondition('!{{._base.pod}}', metrics))).toMatchObject({ kind: 'type', position: 1 });
    expect(error(evaluateCondition('-true', {}))).toMatchObject({ kind: 'type', position: 1 });
    expect(error(evaluateCondition('1&&true', {}))).toMatchObject({ kind: 'type', position: 0, length: 1 });
    expect(error(evaluateCondition('true|2', {}))).toMatchObject({ kind: 'type', position: 5 });
    expect(error(evaluateCondition('true<2', {}))).toMatchObject({ kind: 'type', position: 0 });
    const eq = error(evaluateCondition('1 == true', {}));
    expect(eq).toMatchObject({ kind: 'type', position: 2, length: 2 });
    expect(eq.message).toContain('same type');
    expect(error(evaluateQuota('1+true', {})).message).toBe(
      'operator "+" needs numbers, but its right side at 2 is true/false',
    );
  });

  it('a condition must be true/false and a quota a number', () => {
    const c = error(evaluateCondition('{{._base.pod}}', metrics));
    expect(c.kind).toBe('type');
    expect(c.message).toContain('a condition must be true/false');
    expect(c.position).toBe(0);
    const q = error(evaluateQuota(' 1>2 ', {}));
    expect(q).toMatchObject({ kind: 'type', position: 1, length: 3 });
    expect(q.message).toContain('a quota must be a number');
    // Slime read a numeric 1 as true; Governor asks for a comparison.
    expect(error(evaluateCondition('1', {})).kind).toBe('type');
  });

  it('syntax errors', () => {
    const paren = error(evaluateQuota('(1+2)+3)', {}));
    expect(paren).toMatchObject({ kind: 'syntax', position: 7, length: 1 });
    expect(paren.message.startsWith('unexpected ")" at 7')).toBe(true);
    expect(error(evaluateQuota('', {}))).toMatchObject({
      kind: 'syntax',
      position: 0,
      message: 'empty expression',
    });
    expect(error(evaluateQuota('   ', {})).message).toBe('empty expression');
    expect(error(evaluateQuota('1+', {}))).toMatchObject({ kind: 'syntax', position: 2 });
    expect(error(evaluateQuota('(1+2', {}))).toMatchObject({ kind: 'syntax', position: 4 });
    expect(error(evaluateQuota('1 2', {}))).toMatchObject({ kind: 'syntax', position: 2 });
    expect(error(evaluateQuota('*2', {}))).toMatchObject({ kind: 'syntax', position: 0 });
    expect(error(evaluateQuota('()', {}))).toMatchObject({ kind: 'syntax', position: 1 });
    expect(error(evaluateQuota('2 = 2', {})).message).toContain('"=="');
    expect(error(evaluateCondition('1<2<3', {}))).toMatchObject({ kind: 'syntax', position: 3 });
    expect(error(evaluateCondition('1<2<3', {})).message).toContain('cannot be chained');
    expect(error(evaluateCondition('1==1!=true', {}))).toMatchObject({ kind: 'syntax', position: 4 });
    expect(error(evaluateCondition('true|||false', {}))).toMatchObject({ kind: 'syntax', position: 6 });
  });

  it('too long, without tokenizing', () => {
    const e = error(evaluateQuota(`1${'+1'.repeat(2048)}`, {}));
    expect(e.kind).toBe('too-long');
    expect(e.message).toBe('expression is 4097 characters long; the limit is 4096');
    expect(e.position).toBe(4096);
    // 4096 characters is still accepted.
    expect(quota(`1${'+1'.repeat(2047)}0`, {})).toBe(2048 + 9);
    // Content after the limit is never looked at.
    expect(error(evaluateQuota(`${'('.repeat(5000)}`, {})).kind).toBe('too-long');
  });

  it('too deep', () => {
    expect(quota(`${'('.repeat(64)}1${')'.repeat(64)}`, {})).toBe(1);
    const e = error(evaluateQuota(`${'('.repeat(65)}1${')'.repeat(65)}`, {}));
    expect(e).toMatchObject({ kind: 'too-deep', position: 64, length: 1 });
    expect(error(evaluateQuota(`${'-'.repeat(65)}1`, {})).kind).toBe('too-deep');
    expect(quota(`${'-'.repeat(64)}1`, {})).toBe(1);
    expect(error(evaluateCondition(`${'!'.repeat(40)}(${'-'.repeat(30)}1>0)`, {})).kind).toBe('too-deep');
  });

  it('overflow', () => {
    const big = error(evaluateQuota('9007199254740992', {}));
    expect(big.kind).toBe('overflow');
    expect(big.message).toBe('quota 9007199254740992 is beyond 2^53');
    expect(error(evaluateQuota('-9007199254740992', {})).kind).toBe('overflow');
    // Repeated squaring passes 4096 bits.
    const square = (e: string, n: number): string => (n === 0 ? e : square(`(${e})*(${e})`, n - 1));
    const e = error(evaluateQuota(square('99999999999', 7), {}));
    expect(e.kind).toBe('overflow');
    expect(e.message).toContain('4096 bits');
    expect(error(evaluateQuota('9'.repeat(1500), {})).kind).toBe('overflow');
    expect(error(evaluateQuota('{{.a}}', { a: '1e9999' }))).toMatchObject({ kind: 'overflow', key: 'a' });
    // Comparing huge numbers is fine as long as they stay within the limit.
    expect(cond(`${'9'.repeat(1000)}>${'9'.repeat(999)}`, {})).toBe(true);
  });

  it('never throws, even for non-string input from untyped callers', () => {
    expect(error(evaluateQuota(42 as unknown as string, {})).kind).toBe('syntax');
    expect(error(compileExpression(null as unknown as string)).kind).toBe('syntax');
  });
});

describe('compileExpression', () => {
  it('parses once and evaluates many times', () => {
    const c = value(compileExpression('100/{{._base.pod}}'));
    expect(c.type).toBe('number');
    expect(c.keys).toEqual(['_base.pod']);
    expect(value(c.evaluateQuota({ '_base.pod': 3 })).quota).toBe(34);
    expect(value(c.evaluateQuota({ '_base.pod': 4 })).quota).toBe(25);
    expect(error(c.evaluateQuota({ '_base.pod': 0 })).kind).toBe('division-by-zero');
    expect(error(c.evaluateCondition({ '_base.pod': 2 })).kind).toBe('type');
    expect(value(evaluateQuota(c, { '_base.pod': 5 })).quota).toBe(20);
  });

  it('reports parse errors without metrics', () => {
    expect(error(compileExpression('1+')).kind).toBe('syntax');
    expect(error(compileExpression('1+true')).kind).toBe('type');
  });

  it('compiled conditions evaluate', () => {
    const c = value(compileExpression('{{.v1.cpu.sum}}>8000 && {{.v1.pod}} >= 2'));
    expect(c.type).toBe('boolean');
    expect(c.keys).toEqual(['v1.cpu.sum', 'v1.pod']);
    expect(value(c.evaluateCondition({ 'v1.cpu.sum': 9000, 'v1.pod': 2 }))).toBe(true);
    expect(value(c.evaluateCondition({ 'v1.cpu.sum': 9000, 'v1.pod': 1 }))).toBe(false);
    expect(value(evaluateCondition(c, { 'v1.cpu.sum': 7000, 'v1.pod': 2 }))).toBe(false);
  });

  it('evaluates long left-deep chains without recursion trouble', () => {
    const text = `0${'+1'.repeat(2000)}`;
    expect(quota(text, {})).toBe(2000);
    expect(cond(`${'true&&'.repeat(500)}true`, {})).toBe(true);
    expect(cond(`${'false||'.repeat(500)}true`, {})).toBe(true);
  });
});
