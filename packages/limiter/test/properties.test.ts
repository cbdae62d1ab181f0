/** Properties that must hold for any traffic, checked with fast-check on a fake clock. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock, RateLimitEngine, unitToMs, type WindowUnit } from '../src/index';

const START = 1_700_000_000_000;
const request = { descriptors: [[{ key: 'user', value: 'u' }]] };

/** Steps of (time advance in ms, hits). */
const traffic = fc.array(
  fc.record({ advanceMs: fc.integer({ min: 0, max: 400 }), hits: fc.integer({ min: 1, max: 4 }) }),
  { maxLength: 300 },
);

describe('properties', () => {
  it('a token bucket never allows more than maxTokens + rate × elapsed in any interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 2000 }),
        traffic,
        (maxTokens, tokensPerFill, fillIntervalMs, steps) => {
          const clock = new FakeClock(START);
          const engine = new RateLimitEngine({
            clock,
            rules: {
              local: [
                { id: 'r', entries: request.descriptors[0]!, maxTokens, tokensPerFill, fillIntervalMs },
              ],
            },
          });
          const allowed: { at: number; hits: number }[] = [];
          for (const step of steps) {
            clock.advance(step.advanceMs);
            const d = engine.decide({ ...request, hits: step.hits });
            if (d.allowed) allowed.push({ at: clock.nowMs(), hits: step.hits });
            expect(d.remaining).toBeGreaterThanOrEqual(0);
            expect(d.remaining).toBeLessThanOrEqual(maxTokens);
          }
          // Every interval [allowed[i].at, allowed[j].at].
          for (let i = 0; i < allowed.length; i++) {
            let sum = 0;
            for (let j = i; j < allowed.length; j++) {
              sum += allowed[j]!.hits;
              const elapsed = allowed[j]!.at - allowed[i]!.at;
              expect(sum).toBeLessThanOrEqual(maxTokens + (elapsed * tokensPerFill) / fillIntervalMs + 1e-6);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a token bucket allows whatever fits: a request is limited only when fewer than hits tokens are there', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), traffic, (max, steps) => {
        const clock = new FakeClock(START);
        const engine = new RateLimitEngine({
          clock,
          rules: {
            local: [
              {
                id: 'r',
                entries: request.descriptors[0]!,
                maxTokens: max,
                tokensPerFill: max,
                fillIntervalMs: 1000,
              },
            ],
          },
        });
        let tokens = max;
        for (const step of steps) {
          clock.advance(step.advanceMs);
          tokens = Math.min(max, tokens + (step.advanceMs * max) / 1000);
          const d = engine.decide({ ...request, hits: step.hits });
          expect(d.allowed).toBe(tokens + 1e-9 >= step.hits);
          if (d.allowed) tokens -= step.hits;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a fixed window never allows more than requestsPerUnit hits per epoch-aligned window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom<WindowUnit>('SECOND', 'MINUTE'),
        traffic,
        (limit, unit, steps) => {
          const clock = new FakeClock(START);
          const engine = new RateLimitEngine({
            clock,
            rules: { global: [{ id: 'g', entries: request.descriptors[0]!, requestsPerUnit: limit, unit }] },
          });
          const perWindow = new Map<number, number>();
          for (const step of steps) {
            clock.advance(step.advanceMs * (unit === 'MINUTE' ? 60 : 1));
            const d = engine.decide({ ...request, hits: step.hits });
            const window = Math.floor(clock.nowMs() / unitToMs(unit));
            if (d.allowed) perWindow.set(window, (perWindow.get(window) ?? 0) + step.hits);
            expect(d.resetMs).toBeGreaterThan(0);
            expect(d.resetMs).toBeLessThanOrEqual(unitToMs(unit));
          }
          for (const hits of perWindow.values()) expect(hits).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a rule-set swap that keeps the id never adds tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        (before, after, used) => {
          const clock = new FakeClock(START);
          const rule = (max: number) => ({
            local: [
              {
                id: 'r',
                entries: request.descriptors[0]!,
                maxTokens: max,
                tokensPerFill: max,
                fillIntervalMs: 1000,
              },
            ],
          });
          const engine = new RateLimitEngine({ clock, rules: rule(before) });
          const take = Math.min(used, before);
          if (take > 0) engine.decide({ ...request, hits: take });
          engine.applyRules(rule(after));
          const left = before - take;
          const d = engine.decide({ ...request, hits: 1 });
          expect(d.allowed).toBe(Math.min(left, after) >= 1);
          if (d.allowed) expect(d.remaining).toBe(Math.min(left, after) - 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
