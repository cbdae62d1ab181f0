import { describe, expect, it } from 'vitest';
import { expressionError, formatExpressionError } from './errors';
import { closeKeys, editDistance } from '@governor/crd-types';
import { evaluateCondition, evaluateQuota } from './evaluate';

describe('formatExpressionError', () => {
  it('draws a caret under the offending span', () => {
    const expr = '10 / 0';
    const r = evaluateQuota(expr, {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatExpressionError(r.error, expr)).toBe('division by zero at 3\n  10 / 0\n     ^');
  });

  it('underlines a whole reference', () => {
    const expr = '{{.base.cpu.sum}}>10';
    const r = evaluateCondition(expr, { '_base.cpu.sum': 1 });
    if (r.ok) throw new Error('expected an error');
    const lines = formatExpressionError(r.error, expr).split('\n');
    expect(lines[1]).toBe(`  ${expr}`);
    expect(lines[2]).toBe(`  ${'^'.repeat(17)}`);
  });

  it('points past the end for an unexpected end of expression', () => {
    const err = expressionError('syntax', 'unexpected end of expression at 2', 2, 2, { length: 0 });
    expect(formatExpressionError(err, '1+')).toBe('unexpected end of expression at 2\n  1+\n    ^');
  });

  it('shows the line and column of a multi-line expression', () => {
    const expr = '1 +\n\t2 % 3';
    const err = expressionError('syntax', 'unexpected "%" at 7', 7, expr.length, { length: 1 });
    expect(formatExpressionError(err, expr)).toBe('unexpected "%" at 7 (line 2, column 4)\n   2 % 3\n     ^');
  });

  it('cuts long lines to a window around the error', () => {
    const expr = `${'1+'.repeat(200)}%${'+1'.repeat(200)}`;
    const err = expressionError('syntax', 'unexpected "%" at 400', 400, expr.length, { length: 1 });
    const [, line, caret] = formatExpressionError(err, expr).split('\n');
    expect(line?.length).toBeLessThan(110);
    expect(line?.startsWith('  …')).toBe(true);
    expect(line?.[caret?.indexOf('^') ?? -1]).toBe('%');
  });

  it('handles an error at offset 0 of text that starts with a newline', () => {
    const err = expressionError('syntax', 'empty expression', 0, 1);
    expect(formatExpressionError(err, '\n')).toBe('empty expression (line 1, column 1)\n  \n  ^');
  });

  it('clamps spans into the text', () => {
    const err = expressionError('syntax', 'x', 10, 4, { length: 99 });
    expect(err.position).toBe(4);
    expect(err.length).toBe(0);
    expect(expressionError('syntax', 'x', -3, 4).position).toBe(0);
  });
});

describe('suggestions', () => {
  it('edit distance counts insertions, deletions, substitutions and transpositions', () => {
    expect(editDistance('base.cpu.sum', '_base.cpu.sum', 3)).toBe(1);
    expect(editDistance('_base.cpu.smu', '_base.cpu.sum', 3)).toBe(1);
    expect(editDistance('_base.pdo', '_base.pod', 3)).toBe(1);
    expect(editDistance('abc', 'xyz', 3)).toBe(3);
    expect(editDistance('abc', 'xyz', 2)).toBe(Infinity);
    expect(editDistance('a', 'abcdef', 2)).toBe(Infinity);
  });

  it('suggests close keys, same-case keys and keys with the same ending', () => {
    const known = ['_base.cpu.max', '_base.cpu.sum', '_base.pod', 'v1.pod'];
    expect(closeKeys('base.cpu.sum', known, 3)).toEqual(['_base.cpu.sum']);
    expect(closeKeys('_BASE.POD', known, 3)).toEqual(['_base.pod']);
    expect(closeKeys('pod', known, 3)).toEqual(['_base.pod', 'v1.pod']);
    expect(closeKeys('memory', known, 3)).toEqual([]);
  });
});
