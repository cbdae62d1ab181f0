import { describe, expect, it } from 'vitest';
import { MAX_BITS, Rational } from './rational';

function dec(text: string): Rational {
  const r = Rational.parseDecimal(text);
  if (typeof r === 'string') throw new Error(`${text}: ${r}`);
  return r;
}

describe('Rational', () => {
  it('normalises by gcd and keeps the denominator positive', () => {
    const r = Rational.of(6n, -4n);
    expect(r.num).toBe(-3n);
    expect(r.den).toBe(2n);
    expect(Rational.of(0n, -7n).den).toBe(1n);
  });

  it('parses decimals exactly', () => {
    expect(dec('8845.137').toExactString()).toBe('8845.137');
    expect(dec('0.5').equals(Rational.of(1n, 2n))).toBe(true);
    expect(dec('-0.001').toExactString()).toBe('-0.001');
    expect(dec('.5').toExactString()).toBe('0.5');
    expect(dec('  10598.47 ').toExactString()).toBe('10598.47');
    expect(dec('007').toExactString()).toBe('7');
    expect(dec('1.50').toExactString()).toBe('1.5');
    expect(dec('-0').toExactString()).toBe('0');
    expect(dec('+3').toExactString()).toBe('3');
  });

  it('parses exponent forms', () => {
    expect(dec('1e-7').toExactString()).toBe('0.0000001');
    expect(dec('1e21').toExactString()).toBe('1000000000000000000000');
    expect(dec('1.5E+21').toExactString()).toBe('1500000000000000000000');
    expect(dec('2.5e-1').toExactString()).toBe('0.25');
    expect(dec('0e999999999').isZero()).toBe(true);
  });

  it('rejects non-decimals and out-of-range values', () => {
    for (const bad of [
      '',
      'NaN',
      'Infinity',
      '-Infinity',
      '1.2.3',
      'abc',
      '1e',
      '0x10',
      '1_000',
      '.',
      '--1',
    ]) {
      expect(Rational.parseDecimal(bad)).toBe('invalid');
    }
    expect(Rational.parseDecimal('1e99999999999')).toBe('out-of-range');
    expect(Rational.parseDecimal('1e5000')).toBe('out-of-range');
    expect(Rational.parseDecimal('1e-5000')).toBe('out-of-range');
    expect(Rational.parseDecimal('9'.repeat(2000))).toBe('out-of-range');
  });

  it('reads JavaScript numbers by their shortest decimal form', () => {
    const tenth = Rational.fromNumber(0.1);
    expect(tenth).toBeInstanceOf(Rational);
    if (!(tenth instanceof Rational)) return;
    expect(tenth.equals(Rational.of(1n, 10n))).toBe(true);
    const e7 = Rational.fromNumber(1e-7);
    expect(e7 instanceof Rational && e7.toExactString()).toBe('0.0000001');
    const e21 = Rational.fromNumber(1e21);
    expect(e21 instanceof Rational && e21.toExactString()).toBe('1000000000000000000000');
    const tiny = Rational.fromNumber(5e-324);
    expect(tiny instanceof Rational && tiny.den).toBe(10n ** 324n / 5n);
    expect(Rational.fromNumber(Number.NaN)).toBe('invalid');
    expect(Rational.fromNumber(Number.POSITIVE_INFINITY)).toBe('invalid');
    expect(Rational.fromNumber(Number.NEGATIVE_INFINITY)).toBe('invalid');
    expect(Rational.fromNumber(Number.MAX_VALUE)).toBeInstanceOf(Rational);
  });

  it('does exact arithmetic', () => {
    const tenth = dec('0.1');
    expect(tenth.mul(dec('3')).mul(dec('10')).toExactString()).toBe('3');
    expect(tenth.add(dec('0.2')).equals(dec('0.3'))).toBe(true);
    expect(dec('1').div(dec('3')).toExactString()).toBe('1/3');
    expect(dec('1').div(dec('-3')).toExactString()).toBe('-1/3');
    expect(dec('5').sub(dec('7.5')).toExactString()).toBe('-2.5');
    expect(dec('2').neg().toExactString()).toBe('-2');
    expect(() => dec('1').div(Rational.ZERO)).toThrow(RangeError);
  });

  it('compares exactly', () => {
    expect(dec('8845.137062837').compare(dec('8000'))).toBe(1);
    expect(dec('1').div(dec('3')).compare(dec('0.3333333333333333'))).toBe(1);
    expect(dec('-1').compare(dec('1'))).toBe(-1);
    expect(dec('2.0').compare(dec('2'))).toBe(0);
  });

  it('rounds up and down', () => {
    const third = (n: bigint) => Rational.of(n, 3n);
    expect(third(100n).ceil()).toBe(34n);
    expect(third(99n).ceil()).toBe(33n);
    expect(third(-100n).ceil()).toBe(-33n);
    expect(third(100n).floor()).toBe(33n);
    expect(third(-100n).floor()).toBe(-34n);
    expect(Rational.ZERO.ceil()).toBe(0n);
    expect(Rational.of(-1n, 2n).ceil()).toBe(0n);
  });

  it('renders for display', () => {
    expect(Rational.of(100n, 3n).toFixedString(6)).toBe('33.333333');
    expect(Rational.of(200n, 3n).toFixedString(6)).toBe('66.666667');
    expect(Rational.of(-200n, 3n).toFixedString(2)).toBe('-66.67');
    expect(Rational.of(1n, 2n).toFixedString(0)).toBe('1');
    expect(Rational.of(-1n, 1000000000n).toFixedString(6)).toBe('0');
    expect(Rational.of(57n, 2n).toString()).toBe('28.5');
    expect(Rational.of(1n, 3n).toNumber()).toBeCloseTo(1 / 3, 15);
    expect(Rational.of(7n, 1n).toNumber()).toBe(7);
  });

  it('approximates huge fractions without NaN', () => {
    const big = Rational.of(10n ** 400n + 1n, 3n * 10n ** 399n);
    expect(big.toNumber()).toBeCloseTo(10 / 3, 12);
    expect(Rational.of(1n, 10n ** 400n).toNumber()).toBe(0);
    expect(Rational.of(10n ** 400n, 7n).toNumber()).toBe(Number.POSITIVE_INFINITY);
  });

  it('knows its size limit', () => {
    expect(Rational.of(1n << BigInt(MAX_BITS - 1)).exceedsLimit()).toBe(false);
    expect(Rational.of(1n << BigInt(MAX_BITS)).exceedsLimit()).toBe(true);
    expect(Rational.of(-(1n << BigInt(MAX_BITS))).exceedsLimit()).toBe(true);
    expect(Rational.of(1n, 1n << BigInt(MAX_BITS)).exceedsLimit()).toBe(true);
  });
});
