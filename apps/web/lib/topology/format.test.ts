import { describe, expect, it } from 'vitest';
import { edgeLabel, percent } from './format';

describe('topology labels', () => {
  it('writes small error shares precisely enough to see the 0.1% tolerance', () => {
    expect(percent(0)).toBe('0%');
    expect(percent(0.1)).toBe('0.10%');
    expect(percent(12.345)).toBe('12.3%');
    expect(percent(null)).toBe('n/a');
  });

  it('labels an edge with its rate, 5xx share when any, and p95', () => {
    expect(edgeLabel({ rps: 12.34, health: { serverErrorPercent: 0 }, p95Ms: 41.6 })).toBe(
      '12.3/s · p95 42 ms',
    );
    expect(edgeLabel({ rps: 150, health: { serverErrorPercent: 2 }, p95Ms: null })).toBe('150/s · 2.0% 5xx');
  });
});
