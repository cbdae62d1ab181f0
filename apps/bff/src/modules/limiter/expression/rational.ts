/**
 * Exact rational numbers for expression arithmetic: a BigInt numerator over a positive BigInt denominator,
 * always reduced by their gcd. Slime's calculator truncates every value to an integer; Governor keeps
 * decimals exactly, so `0.1*3*10` is exactly 3 and `8845.137>8845` is true.
 */

/** The largest magnitude, in bits, a numerator or denominator may reach before arithmetic stops. */
export const MAX_BITS = 4096;
const LIMIT = 1n << BigInt(MAX_BITS);

/** Why a decimal text could not be read as a rational. */
export type DecimalProblem = 'invalid' | 'out-of-range';

// Optional sign, digits with an optional fraction (or a bare fraction like `.5`), optional exponent.
const DECIMAL = /^([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** An exact, immutable rational number. */
export class Rational {
  static readonly ZERO = new Rational(0n, 1n);
  static readonly ONE = new Rational(1n, 1n);

  /** Use {@link Rational.of}; the constructor trusts that `den > 0` and the fraction is reduced. */
  private constructor(
    /** Numerator; carries the sign. */
    readonly num: bigint,
    /** Denominator; always positive. */
    readonly den: bigint,
  ) {}

  /** `num/den`, reduced. `den` must not be 0 (callers check; a zero denominator throws RangeError). */
  static of(num: bigint, den: bigint = 1n): Rational {
    if (den === 0n) throw new RangeError('zero denominator');
    if (den === 1n) return new Rational(num, 1n);
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const g = gcd(num, den);
    return g === 1n ? new Rational(num, den) : new Rational(num / g, den / g);
  }

  /**
   * Reads a decimal text exactly: `10`, `-8845.137`, `.5`, `1e-7`, `1.5E+21` (surrounding whitespace is
   * ignored). `NaN`, `Infinity` and anything else that is not a plain decimal is `'invalid'`; a value whose
   * exact form would exceed {@link MAX_BITS} is `'out-of-range'`.
   */
  static parseDecimal(text: string): Rational | DecimalProblem {
    const m = DECIMAL.exec(text.trim());
    if (m === null) return 'invalid';
    const negative = m[1] === '-';
    const intPart = m[2] ?? '';
    const fracPart = m[3] ?? m[4] ?? '';
    let digits = (intPart + fracPart).replace(/^0+/, '');
    if (digits === '') return Rational.ZERO;
    const expText = m[5] ?? '0';
    // An exponent longer than 7 digits is far outside the range anyway; do not let Number() round it.
    if (expText.replace(/^[+-]?0*/, '').length > 7) return 'out-of-range';
    let exp = Number(expText) - fracPart.length;
    const trailingZeros = /0*$/.exec(digits)?.[0].length ?? 0;
    digits = digits.slice(0, digits.length - trailingZeros);
    exp += trailingZeros;
    // 10^1234 > 2^4096: refuse before building huge BigInts.
    if (exp >= 0 && digits.length + exp > 1234) return 'out-of-range';
    if (exp < 0 && (digits.length > 1234 || -exp > 1234)) return 'out-of-range';
    const mantissa = BigInt(digits) * (negative ? -1n : 1n);
    const r =
      exp >= 0 ? Rational.of(mantissa * 10n ** BigInt(exp), 1n) : Rational.of(mantissa, 10n ** BigInt(-exp));
    return r.exceedsLimit() ? 'out-of-range' : r;
  }

  /**
   * The exact value of a JavaScript number as people read it: its shortest decimal form (`String(n)`), so
   * `0.1` is exactly one tenth rather than the binary double nearest to it. NaN and ±Infinity are
   * `'invalid'`.
   */
  static fromNumber(n: number): Rational | DecimalProblem {
    if (!Number.isFinite(n)) return 'invalid';
    if (Number.isSafeInteger(n)) return Rational.of(BigInt(n), 1n);
    return Rational.parseDecimal(String(n));
  }

  /** True when the numerator or denominator has reached {@link MAX_BITS} bits. */
  exceedsLimit(): boolean {
    return this.num >= LIMIT || -this.num >= LIMIT || this.den >= LIMIT;
  }

  isZero(): boolean {
    return this.num === 0n;
  }

  isInteger(): boolean {
    return this.den === 1n;
  }

  add(o: Rational): Rational {
    if (this.den === 1n && o.den === 1n) return new Rational(this.num + o.num, 1n);
    return Rational.of(this.num * o.den + o.num * this.den, this.den * o.den);
  }

  sub(o: Rational): Rational {
    if (this.den === 1n && o.den === 1n) return new Rational(this.num - o.num, 1n);
    return Rational.of(this.num * o.den - o.num * this.den, this.den * o.den);
  }

  mul(o: Rational): Rational {
    if (this.den === 1n && o.den === 1n) return new Rational(this.num * o.num, 1n);
    return Rational.of(this.num * o.num, this.den * o.den);
  }

  /** Exact quotient; `o` must not be zero (throws RangeError). */
  div(o: Rational): Rational {
    return Rational.of(this.num * o.den, this.den * o.num);
  }

  neg(): Rational {
    return new Rational(-this.num, this.den);
  }

  /** -1, 0 or 1 as `this` is less than, equal to or greater than `o`. */
  compare(o: Rational): -1 | 0 | 1 {
    const l = this.num * o.den;
    const r = o.num * this.den;
    return l < r ? -1 : l > r ? 1 : 0;
  }

  equals(o: Rational): boolean {
    return this.num === o.num && this.den === o.den;
  }

  /** The least integer not below this value (rounds up: 100/3 → 34, -7/2 → -3). */
  ceil(): bigint {
    const q = this.num / this.den; // BigInt division truncates toward zero
    return this.num > 0n && q * this.den !== this.num ? q + 1n : q;
  }

  /** The greatest integer not above this value. */
  floor(): bigint {
    const q = this.num / this.den;
    return this.num < 0n && q * this.den !== this.num ? q - 1n : q;
  }

  /** True when the decimal expansion terminates (the reduced denominator is 2^a·5^b). */
  isTerminatingDecimal(): boolean {
    let d = this.den;
    while (d % 2n === 0n) d /= 2n;
    while (d % 5n === 0n) d /= 5n;
    return d === 1n;
  }

  /**
   * The exact value as text: a plain decimal when it terminates (`28.5`, `-0.001`), otherwise the reduced
   * fraction (`100/3`).
   */
  toExactString(): string {
    if (this.den === 1n) return this.num.toString();
    if (!this.isTerminatingDecimal()) return `${this.num}/${this.den}`;
    // den = 2^a·5^b, so max(a, b) fractional digits are exactly enough.
    let twos = 0;
    let fives = 0;
    for (let d = this.den; d % 2n === 0n; d /= 2n) twos++;
    for (let d = this.den; d % 5n === 0n; d /= 5n) fives++;
    const places = Math.max(twos, fives);
    return insertPoint((this.num * 10n ** BigInt(places)) / this.den, places);
  }

  /**
   * A decimal rounded half away from zero to at most `places` fractional digits, trailing zeros removed
   * (`100/3` → `33.333333` with 6 places).
   */
  toFixedString(places: number): string {
    const p = Math.max(0, Math.trunc(places));
    const scale = 10n ** BigInt(p);
    const negative = this.num < 0n;
    const abs = negative ? -this.num : this.num;
    const scaled = (abs * scale * 2n + this.den) / (this.den * 2n);
    const text = insertPoint(scaled, p);
    return negative && scaled !== 0n ? `-${text}` : text;
  }

  /** The nearest JavaScript number (approximate for non-terminating or very long values). */
  toNumber(): number {
    if (this.den === 1n) return Number(this.num);
    const nb = bitLength(this.num);
    const db = bitLength(this.den);
    if (nb <= 53 && db <= 53) return Number(this.num) / Number(this.den);
    // Keep ~64 significant bits of each and scale back by the power of two removed.
    const ns = Math.max(0, nb - 64);
    const ds = Math.max(0, db - 64);
    return (Number(this.num >> BigInt(ns)) / Number(this.den >> BigInt(ds))) * 2 ** (ns - ds);
  }

  /** Same as {@link Rational.toExactString}. */
  toString(): string {
    return this.toExactString();
  }
}

function bitLength(n: bigint): number {
  return (n < 0n ? -n : n).toString(2).length;
}

function insertPoint(scaled: bigint, places: number): string {
  const negative = scaled < 0n;
  let digits = (negative ? -scaled : scaled).toString();
  if (places > 0) {
    digits = digits.padStart(places + 1, '0');
    const whole = digits.slice(0, digits.length - places);
    const frac = digits.slice(digits.length - places).replace(/0+$/, '');
    digits = frac === '' ? whole : `${whole}.${frac}`;
  }
  return negative ? `-${digits}` : digits;
}
