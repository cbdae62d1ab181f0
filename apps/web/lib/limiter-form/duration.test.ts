import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSecondsText, secondsText } from './duration';

describe('fill intervals as decimal seconds', () => {
  it('shows whole and fractional seconds exactly', () => {
    expect(secondsText(undefined)).toBe('');
    expect(secondsText({ seconds: 60 })).toBe('60');
    expect(secondsText({ seconds: 0, nanos: 500_000_000 })).toBe('0.5');
    expect(secondsText({ seconds: 1, nanos: 1 })).toBe('1.000000001');
  });

  it('takes positive decimal seconds to the nanosecond, and nothing else', () => {
    expect(parseSecondsText('1')).toEqual({ seconds: 1 });
    expect(parseSecondsText('0.05')).toEqual({ seconds: 0, nanos: 50_000_000 });
    expect(parseSecondsText('2.')).toEqual({ seconds: 2 });
    for (const bad of ['', '0', '0.0', '-1', '1e3', '1.0000000001', 'one'])
      expect(parseSecondsText(bad)).toBeUndefined();
  });

  it('reads back what it shows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 86_400 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        (seconds, nanos) => {
          fc.pre(seconds + nanos > 0);
          const d = nanos === 0 ? { seconds } : { seconds, nanos };
          expect(parseSecondsText(secondsText(d))).toEqual(d);
        },
      ),
    );
  });
});
