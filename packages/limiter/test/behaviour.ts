/**
 * One behavioural suite for every algorithm and store. A harness builds an engine with a single rule of
 * `limit` per period over one descriptor key; the suite checks what must hold for all of them, and the
 * documented differences (a fixed window counts denied requests, a token bucket does not) through the
 * harness's flags. Cases that move time by hand run only where the clock is fake (not for Redis, which
 * uses its own server time).
 */
import { describe, expect, it } from 'vitest';
import type { Decision, DecisionSource } from '../src/index';

export interface LimitSpec {
  readonly limit: number;
  readonly shadow?: boolean;
  /** One bucket (or counter) per distinct value of the descriptor key, with this bound on values held. */
  readonly perValue?: { readonly maxKeys: number };
}

export interface HarnessInstance {
  /** Decides a request whose descriptor is `[{ key: 'user', value }]`. */
  decide(value: string, hits?: number): Promise<Decision>;
  /** Moves the fake clock (harnesses with `fakeTime` only). */
  advance(ms: number): void;
  /** Applies a rule set with the same rule id and a new limit. */
  applyLimit(limit: number, options?: { id?: string }): void;
  close(): Promise<void>;
}

export interface LimiterHarness {
  readonly name: string;
  readonly algorithm: 'token-bucket' | 'fixed-window';
  /** The period a limit is counted over (the fill interval, or the window). */
  readonly periodMs: number;
  readonly fakeTime: boolean;
  /** Bounded per-value state in this process (Redis keys expire instead of being evicted). */
  readonly boundedKeys: boolean;
  /** The source a fresh decision reports. */
  readonly source: DecisionSource;
  setup(spec: LimitSpec): Promise<HarnessInstance>;
}

/** Runs `n` decisions one after another; returns how many were allowed (not limited). */
async function allowedOf(h: HarnessInstance, n: number, value = 'alice', hits = 1): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await h.decide(value, hits)).outcome !== 'limited') allowed++;
  return allowed;
}

export function describeLimiterBehaviour(harness: LimiterHarness): void {
  const deniedCounts = harness.algorithm === 'fixed-window';
  const withInstance = (spec: LimitSpec, body: (h: HarnessInstance) => Promise<void>) => async () => {
    const h = await harness.setup(spec);
    try {
      await body(h);
    } finally {
      await h.close();
    }
  };

  describe(`limiter behaviour: ${harness.name}`, () => {
    it(
      'starts full: the whole limit is available at once, then the next request is limited',
      withInstance({ limit: 5 }, async (h) => {
        const decisions: Decision[] = [];
        for (let i = 0; i < 6; i++) decisions.push(await h.decide('alice'));
        expect(decisions.map((d) => d.outcome)).toEqual([
          'allowed',
          'allowed',
          'allowed',
          'allowed',
          'allowed',
          'limited',
        ]);
        expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
        expect(decisions[0]).toMatchObject({
          ruleId: 'limit',
          limit: 5,
          allowed: true,
          source: harness.source,
        });
        expect(decisions[5]!.allowed).toBe(false);
        expect(decisions[5]!.retryAfterMs).toBeGreaterThan(0);
        expect(decisions[5]!.resetMs).toBeGreaterThan(0);
        expect(decisions[5]!.resetMs).toBeLessThanOrEqual(harness.periodMs);
      }),
    );

    it(
      'hits > 1 takes that many at once, and a request bigger than what is left is limited',
      withInstance({ limit: 10 }, async (h) => {
        expect((await h.decide('alice', 4)).remaining).toBe(6);
        expect((await h.decide('alice', 4)).remaining).toBe(2);
        const big = await h.decide('alice', 3);
        expect(big.outcome).toBe('limited');
        expect(big.hits).toBe(3);
      }),
    );

    it(
      deniedCounts
        ? 'a denied request still counts in its window (envoyproxy/ratelimit increments even when over)'
        : 'a denied request takes nothing',
      withInstance({ limit: 10 }, async (h) => {
        await h.decide('alice', 8);
        expect((await h.decide('alice', 5)).outcome).toBe('limited');
        // 2 were left before the denied request: a bucket still has them, a window has counted 13 already.
        expect((await h.decide('alice', 2)).outcome).toBe(deniedCounts ? 'limited' : 'allowed');
      }),
    );

    it(
      'keeps one limit per distinct value of a blank-value rule',
      withInstance({ limit: 2, perValue: { maxKeys: 100 } }, async (h) => {
        expect(await allowedOf(h, 3, 'alice')).toBe(2);
        expect(await allowedOf(h, 3, 'bob')).toBe(2);
        const d = await h.decide('carol');
        expect(d.descriptor).toEqual([{ key: 'user', value: 'carol' }]);
      }),
    );

    it(
      'shadow mode: a request over the limit is allowed and marked shadow',
      withInstance({ limit: 2, shadow: true }, async (h) => {
        const outcomes: string[] = [];
        for (let i = 0; i < 4; i++) outcomes.push((await h.decide('alice')).outcome);
        expect(outcomes).toEqual(['allowed', 'allowed', 'shadow', 'shadow']);
        const d = await h.decide('alice');
        expect(d.allowed).toBe(true);
        expect(d.ruleId).toBe('limit');
      }),
    );

    it(
      'a rule-set swap keeps the state of a rule whose id is unchanged (a raised limit does not refill)',
      withInstance({ limit: 10 }, async (h) => {
        expect(await allowedOf(h, 7)).toBe(7);
        h.applyLimit(20);
        const d = await h.decide('alice');
        expect(d.limit).toBe(20);
        // A bucket keeps its 3 tokens (the cap rose, nothing was added); a window keeps its count of 7.
        expect(d.remaining).toBe(deniedCounts ? 12 : 2);
        expect(await allowedOf(h, 30)).toBe(deniedCounts ? 12 : 2);
      }),
    );

    it(
      'a lowered limit clamps what is left; a changed id starts afresh',
      withInstance({ limit: 10 }, async (h) => {
        expect(await allowedOf(h, 2)).toBe(2);
        h.applyLimit(5);
        // 8 tokens clamp to 5; a window's count of 2 leaves 3 of 5.
        expect(await allowedOf(h, 10)).toBe(deniedCounts ? 3 : 5);
        h.applyLimit(5, { id: 'renamed' });
        expect(await allowedOf(h, 10)).toBe(5);
      }),
    );

    // A store without a bound on its keys (Redis) has no such case: declared only where it applies.
    if (harness.boundedKeys)
      it(
        'bounds the per-value state: the least recently used value is evicted and starts full again',
        withInstance({ limit: 1, perValue: { maxKeys: 3 } }, async (h) => {
          for (const v of ['a', 'b', 'c']) expect((await h.decide(v)).outcome).toBe('allowed');
          expect((await h.decide('a')).outcome).toBe('limited');
          expect((await h.decide('d')).outcome).toBe('allowed'); // evicts b, the least recently used
          expect((await h.decide('a')).outcome).toBe('limited'); // a was used recently: kept
          expect((await h.decide('b')).outcome).toBe('allowed'); // b was evicted: a fresh bucket or counter
        }),
      );

    // Redis keeps time itself (server time): the fake-clock cases are declared only where time is injected.
    if (harness.fakeTime)
      describe('on a fake clock', () => {
        if (harness.algorithm === 'token-bucket') {
          it(
            'refills continuously at tokensPerFill / fillInterval, capped at maxTokens',
            withInstance({ limit: 10 }, async (h) => {
              expect(await allowedOf(h, 10)).toBe(10);
              h.advance(99); // 0.99 of a token
              expect((await h.decide('alice')).outcome).toBe('limited');
              h.advance(1);
              expect(await allowedOf(h, 2)).toBe(1);
              h.advance(350); // 3.5 tokens
              const d = await h.decide('alice');
              expect(d.remaining).toBe(2);
              expect(d.resetMs).toBe(750); // 7.5 tokens short of full at 100 ms each
              h.advance(60_000);
              expect(await allowedOf(h, 20)).toBe(10);
            }),
          );

          it(
            'reports when a limited request could pass',
            withInstance({ limit: 10 }, async (h) => {
              await h.decide('alice', 10);
              const d = await h.decide('alice', 3);
              expect(d.retryAfterMs).toBe(300);
              h.advance(299);
              expect((await h.decide('alice', 3)).outcome).toBe('limited');
              h.advance(1);
              expect((await h.decide('alice', 3)).outcome).toBe('allowed');
            }),
          );
        } else {
          it(
            'counts in epoch-aligned windows: nothing comes back inside a window, everything at its edge',
            withInstance({ limit: 3 }, async (h) => {
              h.advance(harness.periodMs - 10);
              expect(await allowedOf(h, 5)).toBe(3);
              const d = await h.decide('alice');
              expect(d.resetMs).toBe(10);
              h.advance(9);
              expect((await h.decide('alice')).outcome).toBe('limited');
              h.advance(1); // the next window starts
              expect(await allowedOf(h, 5)).toBe(3);
            }),
          );
        }
      });
  });
}
