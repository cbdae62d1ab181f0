import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket';

describe('TokenBucket (Envoy local_ratelimit semantics)', () => {
  const config = { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 };

  it('starts full and refills continuously at tokensPerFill / fillInterval, capped at maxTokens', () => {
    const b = new TokenBucket(config, 0);
    expect(b.available(0)).toBe(10);
    expect(b.tryTake(10, 0)).toBe(true);
    expect(b.available(199)).toBe(0); // 0.995 tokens
    expect(b.available(200)).toBe(1);
    expect(b.available(1000)).toBe(5);
    expect(b.available(10_000)).toBe(10);
  });

  it('takes hits only when that many are there; a denied request takes nothing', () => {
    const b = new TokenBucket(config, 0);
    expect(b.tryTake(7, 0)).toBe(true);
    expect(b.tryTake(4, 0)).toBe(false);
    expect(b.tokens).toBe(3);
    expect(b.tryTake(3, 0)).toBe(true);
    expect(b.msUntil(2, 0)).toBe(400);
    expect(b.msUntil(11, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('whole intervals give whole tokens exactly, even for rates that are not binary fractions', () => {
    const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 3, fillIntervalMs: 700 }, 0);
    b.tryTake(3, 0);
    expect(b.tryTake(3, 700)).toBe(true);
  });

  it('earns nothing while the clock steps back, and nothing twice', () => {
    const b = new TokenBucket(config, 1000);
    b.tryTake(10, 1000);
    expect(b.available(500)).toBe(0);
    expect(b.available(1200)).toBe(1);
  });

  it('a new quota changes the cap: tokens are kept, clamped, never refilled', () => {
    const b = new TokenBucket(config, 0);
    b.tryTake(6, 0); // 4 left
    b.reconfigure({ maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 1000 }, 0);
    expect(b.available(0)).toBe(4);
    b.reconfigure({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 }, 0);
    expect(b.available(0)).toBe(2);
  });
});
