import { describe, expect, it } from 'vitest';
import type { ExpressionError, ExpressionResult } from './errors';
import { hasReferences, parseExpression, referencedKeys } from './parse';
import type { Expr } from './parse';
import { tokenize } from './tokenize';

function value<T>(r: ExpressionResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}
function error<T>(r: ExpressionResult<T>): ExpressionError {
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

/** A fully parenthesized rendering of the tree, to check grouping. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'boolean':
      return String(e.value);
    case 'reference':
      return `{${e.key}}`;
    case 'unary':
      return `${e.op}${show(e.operand)}`;
    case 'binary':
      return `(${show(e.left)}${e.op}${show(e.right)})`;
  }
}
const tree = (text: string): string => show(value(parseExpression(text)));

describe('tokenize', () => {
  it('splits operators greedily and records positions', () => {
    const tokens = value(tokenize('1>=2 && {{ .x }}'));
    expect(tokens.map((t) => [t.kind, t.pos, t.end])).toEqual([
      ['number', 0, 1],
      ['operator', 1, 3],
      ['number', 3, 4],
      ['operator', 5, 7],
      ['reference', 8, 16],
      ['end', 16, 16],
    ]);
  });

  it('reads metric keys with dashes, digits and underscores', () => {
    const t = value(tokenize('{{.canary-v2_1.cpu.sum}}'))[0];
    expect(t?.kind === 'reference' && t.key).toBe('canary-v2_1.cpu.sum');
  });

  it('explains malformed references', () => {
    expect(error(tokenize('{{_base.pod}}'))).toMatchObject({ kind: 'syntax', position: 2 });
    expect(error(tokenize('{{_base.pod}}')).message).toContain('{{._base.pod}}');
    expect(error(tokenize('{{.}}')).message).toContain('empty metric reference');
    expect(error(tokenize('{{}}')).message).toContain('empty metric reference');
    expect(error(tokenize('{{.a..b}}'))).toMatchObject({ position: 5 });
    expect(error(tokenize('{{.a b}}'))).toMatchObject({ position: 5 });
    expect(error(tokenize('{{.a|printf}}'))).toMatchObject({ position: 4 });
    expect(error(tokenize('1+{{.a'))).toMatchObject({ position: 2, length: 4 });
    expect(error(tokenize('1+{{.a')).message).toContain('unterminated');
    expect(error(tokenize('{{'))).toMatchObject({ position: 0 });
    expect(error(tokenize('{.a}'))).toMatchObject({ position: 0 });
    expect(error(tokenize('{{.a}'))).toMatchObject({ position: 0 });
    expect(error(tokenize('}}'))).toMatchObject({ position: 0 });
  });

  it('explains stray characters', () => {
    expect(error(tokenize('1 % 2')).message).toBe('unexpected "%" at 2');
    expect(error(tokenize('1 ✓ 2'))).toMatchObject({ position: 2, length: 1 });
    expect(error(tokenize('1 😀 2'))).toMatchObject({
      position: 2,
      length: 2,
      message: 'unexpected "😀" at 2',
    });
    expect(error(tokenize('1\u0000')).message).toBe('unexpected "\\u0000" at 1');
    expect(error(tokenize('True')).message).toContain('did you mean "true"?');
    expect(error(tokenize('1 and 2')).message).toContain('"&&"');
    expect(error(tokenize('pods > 2')).message).toContain('{{.pods}}');
    expect(error(tokenize('.5')).message).toContain('0.5');
    expect(error(tokenize('1.')).kind).toBe('syntax');
    expect(error(tokenize('1.x')).kind).toBe('syntax');
    expect(error(tokenize('10abc'))).toMatchObject({ position: 2, length: 3 });
  });
});

describe('parseExpression', () => {
  it('groups every binary operator to the left', () => {
    expect(tree('10-2-3')).toBe('((10-2)-3)');
    expect(tree('64/4/2')).toBe('((64/4)/2)');
    expect(tree('true||false||true')).toBe('((true||false)||true)');
    expect(tree('true&true&false')).toBe('((true&true)&false)');
  });

  it('follows the precedence table', () => {
    expect(tree('1+2*3')).toBe('(1+(2*3))');
    expect(tree('1*2+3')).toBe('((1*2)+3)');
    expect(tree('1+2>3-4')).toBe('((1+2)>(3-4))');
    expect(tree('1>2|3>4&5>6')).toBe('((1>2)|((3>4)&(5>6)))');
    expect(tree('1>2&&3>4||5>6')).toBe('(((1>2)&&(3>4))||(5>6))');
    expect(tree('-2*-3')).toBe('(-2*-3)');
    expect(tree('!true==false')).toBe('(!true==false)');
    expect(tree('-(1+2)')).toBe('-(1+2)');
    expect(tree('{{ ._base.pod }}*2')).toBe('({_base.pod}*2)');
  });

  it('records spans and operator positions', () => {
    const e = value(parseExpression(' (1 + 2) * 3'));
    expect(e.kind).toBe('binary');
    if (e.kind !== 'binary') return;
    expect([e.start, e.end, e.opPos]).toEqual([1, 12, 9]);
    expect([e.left.start, e.left.end]).toEqual([1, 8]);
    expect(e.type).toBe('number');
  });

  it('types the tree statically', () => {
    expect(value(parseExpression('{{.a}}>1')).type).toBe('boolean');
    expect(value(parseExpression('{{.a}}')).type).toBe('number');
    expect(error(parseExpression('{{.a}}&&true')).kind).toBe('type');
  });

  it('refuses chained comparisons', () => {
    const e = error(parseExpression('1 < 2 < 3'));
    expect(e).toMatchObject({ kind: 'syntax', position: 6, length: 1 });
    expect(e.message).toContain('&&');
    // Parenthesized, it is a type error instead (a boolean is not a number).
    expect(error(parseExpression('(1<2)<3')).kind).toBe('type');
    expect(value(parseExpression('(1<2)==(3<4)')).type).toBe('boolean');
  });

  it('does not need metrics', () => {
    expect(parseExpression('{{.not.there}}/2').ok).toBe(true);
  });
});

describe('referencedKeys and hasReferences', () => {
  it('lists keys in order without duplicates', () => {
    expect(referencedKeys('{{.b}}+{{.a}}*{{.b}}-{{ .c.d }}')).toEqual(['b', 'a', 'c.d']);
    const ast = value(parseExpression('{{.b}}+{{.a}}*{{.b}}-{{ .c.d }}'));
    expect(referencedKeys(ast)).toEqual(['b', 'a', 'c.d']);
    expect(referencedKeys('({{.x}}>1)&&!({{.y}}<2)||{{.x}}==0')).toEqual(['x', 'y']);
  });

  it('works on text with a syntax error, up to its first lexical error', () => {
    expect(referencedKeys('{{.a}} +* {{.b}}')).toEqual(['a', 'b']);
    expect(referencedKeys('{{.a}} % {{.b}}')).toEqual(['a']);
    expect(referencedKeys('x'.repeat(5000))).toEqual([]);
  });

  it('says whether a quota has references of its own', () => {
    expect(hasReferences('100')).toBe(false);
    expect(hasReferences('100/{{._base.pod}}')).toBe(true);
    expect(hasReferences(value(parseExpression('true')))).toBe(false);
    expect(hasReferences('')).toBe(false);
  });
});
