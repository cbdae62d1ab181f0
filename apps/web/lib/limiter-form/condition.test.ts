import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCondition, COMPARISONS, conditionShape } from './condition';

describe('conditionShape', () => {
  it('reads always, a comparison, or an expression left to the text field', () => {
    expect(conditionShape('true')).toEqual({ kind: 'always' });
    expect(conditionShape('  ')).toEqual({ kind: 'always' });
    expect(conditionShape('{{._base.cpu.percent}} > 80')).toEqual({
      kind: 'compare',
      set: '_base',
      metric: 'cpu.percent',
      op: '>',
      threshold: '80',
    });
    expect(conditionShape('{{.v1.qps}}>100 && {{.v1.pod}}>1')).toEqual({ kind: 'expression' });
    expect(conditionShape('{{._base.qps}}==3')).toEqual({ kind: 'expression' });
  });

  it('reads back every comparison the builder writes', () => {
    fc.assert(
      fc.property(
        fc.record({
          set: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
          metric: fc.stringMatching(/^[a-z][a-z0-9_.]{0,10}$/),
          op: fc.constantFrom(...COMPARISONS),
          threshold: fc.integer({ min: -1000, max: 100_000 }).map(String),
        }),
        (c) => {
          expect(conditionShape(compareCondition(c))).toEqual({ kind: 'compare', ...c });
        },
      ),
    );
  });
});
