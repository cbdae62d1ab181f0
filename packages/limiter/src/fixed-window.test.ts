import { describe, expect, it } from 'vitest';
import {
  isOverLimit,
  unitToMs,
  WINDOW_STRIDE,
  windowHit,
  windowInit,
  windowRemaining,
  windowStartMs,
} from './fixed-window';

describe('fixed window (envoyproxy/ratelimit semantics)', () => {
  it('aligns windows to the epoch per unit', () => {
    expect(unitToMs('SECOND')).toBe(1000);
    expect(unitToMs('MINUTE')).toBe(60_000);
    expect(unitToMs('HOUR')).toBe(3_600_000);
    expect(unitToMs('DAY')).toBe(86_400_000);
    expect(windowStartMs(1_700_000_123_456, 60_000)).toBe(1_700_000_100_000);
    expect(windowStartMs(1_700_000_123_456, 86_400_000) % 86_400_000).toBe(0);
  });

  it('counts hits per window, over limit when the count after exceeds the limit, denied hits included', () => {
    const s = new Float64Array(WINDOW_STRIDE);
    windowInit(s, 0);
    expect(windowHit(s, 0, 8, 5_000, 1000)).toBe(8);
    expect(windowHit(s, 0, 5, 5_500, 1000)).toBe(13);
    expect(isOverLimit(13, 10)).toBe(true);
    expect(isOverLimit(10, 10)).toBe(false);
    expect(windowRemaining(13, 10)).toBe(0);
    expect(windowRemaining(7, 10)).toBe(3);
    expect(windowHit(s, 0, 1, 5_999, 1000)).toBe(14);
    expect(windowHit(s, 0, 1, 6_000, 1000)).toBe(1);
    // A clock stepping back keeps counting in the newer window.
    expect(windowHit(s, 0, 1, 5_900, 1000)).toBe(2);
  });
});
