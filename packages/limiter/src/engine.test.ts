import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock';
import { copyDecision, type Decision } from './decision';
import { RateLimitEngine } from './engine';
import { DEFAULT_RULE_ID, PERMISSIVE_DEFAULT_BUCKET, RuleSetError, type RuleSetInput } from './rules';
import { MemoryWindowStore } from './stores/memory';

const START = 1_700_000_000_000;
const tb = (max: number) => ({ maxTokens: max, tokensPerFill: max, fillIntervalMs: 1000 });
const req = (...descriptors: [string, string][][]) => ({
  descriptors: descriptors.map((e) => e.map(([key, value]) => ({ key, value }))),
});

describe('RateLimitEngine', () => {
  it('applies the default bucket only when no descriptor matched (or always, if asked)', () => {
    const clock = new FakeClock(START);
    const rules: RuleSetInput = {
      local: [{ id: 'user', entries: [{ key: 'user', value: '' }], ...tb(5) }],
      defaultBucket: tb(2),
    };
    const engine = new RateLimitEngine({ clock, rules });
    expect(engine.decide(req()).ruleId).toBe(DEFAULT_RULE_ID);
    expect(engine.decide(req([['other', 'x']])).remaining).toBe(0);
    expect(engine.decide(req([['other', 'x']]))).toMatchObject({
      outcome: 'limited',
      ruleId: DEFAULT_RULE_ID,
      ruleKind: 'default',
      descriptor: null,
    });
    expect(engine.decide(req([['user', 'a']]))).toMatchObject({
      outcome: 'allowed',
      ruleId: 'user',
      remaining: 4,
    });
    engine.applyRules({ ...rules, alwaysConsumeDefault: true });
    // The default bucket is empty and now charged with every request.
    expect(engine.decide(req([['user', 'a']]))).toMatchObject({
      outcome: 'limited',
      ruleId: DEFAULT_RULE_ID,
    });
  });

  it('without any rule that applies, allows with no limit', () => {
    const d = new RateLimitEngine({ clock: new FakeClock(START) }).decide(req([['k', 'v']]));
    expect(d).toMatchObject({
      outcome: 'allowed',
      ruleId: null,
      remaining: Number.POSITIVE_INFINITY,
      limit: Number.POSITIVE_INFINITY,
    });
  });

  it('with several matched buckets, the strictest decides and a denied request charges none of them', () => {
    const clock = new FakeClock(START);
    const engine = new RateLimitEngine({
      clock,
      rules: {
        local: [
          { id: 'route', entries: [{ key: 'route', value: 'r' }], ...tb(100) },
          { id: 'user', entries: [{ key: 'user', value: '' }], ...tb(2) },
        ],
      },
    });
    const both = req([['route', 'r']], [['user', 'u']]);
    expect(engine.decide(both)).toMatchObject({ ruleId: 'user', remaining: 1 });
    expect(engine.decide(both)).toMatchObject({ ruleId: 'user', remaining: 0 });
    expect(engine.decide(both)).toMatchObject({ outcome: 'limited', ruleId: 'user' });
    // The route bucket was charged twice, not three times.
    expect(engine.decide(req([['route', 'r']]))).toMatchObject({ ruleId: 'route', remaining: 97 });
  });

  it("with charging: 'envoy', the buckets tried before the one that denied keep their charge, as in Envoy", () => {
    const run = (charging: 'atomic' | 'envoy') => {
      const engine = new RateLimitEngine({
        clock: new FakeClock(START),
        charging,
        rules: {
          local: [
            { id: 'route', entries: [{ key: 'route', value: 'r' }], ...tb(3) },
            { id: 'user', entries: [{ key: 'user', value: '' }], ...tb(2) },
          ],
        },
      });
      // Drain the route bucket (3/s); the user bucket (2/s, the slower, tried first) stays full.
      for (let i = 0; i < 3; i++) expect(engine.decide(req([['route', 'r']])).outcome).toBe('allowed');
      // user passes, route denies.
      expect(engine.decide(req([['route', 'r']], [['user', 'u']]))).toMatchObject({
        outcome: 'limited',
        ruleId: 'route',
      });
      return engine.decide(req([['user', 'u']])).remaining;
    };
    expect(run('atomic')).toBe(1); // nothing was charged by the denied request
    expect(run('envoy')).toBe(0); // Envoy charged the user bucket before the route bucket denied
  });

  it('a shadow rule marks what it would limit while an enforced rule still limits', () => {
    const engine = new RateLimitEngine({
      clock: new FakeClock(START),
      rules: {
        local: [
          { id: 'shadow', entries: [{ key: 'a', value: '1' }], ...tb(1), shadow: true },
          { id: 'enforced', entries: [{ key: 'b', value: '1' }], ...tb(2) },
        ],
      },
    });
    const both = req([['a', '1']], [['b', '1']]);
    expect(engine.decide(both).outcome).toBe('allowed');
    expect(engine.decide(both)).toMatchObject({ outcome: 'shadow', ruleId: 'shadow', allowed: true });
    expect(engine.decide(both)).toMatchObject({ outcome: 'limited', ruleId: 'enforced' });
  });

  it('local limits run before global ones: a locally limited request does not count globally', () => {
    const engine = new RateLimitEngine({
      clock: new FakeClock(START),
      rules: {
        local: [{ id: 'local', entries: [{ key: 'user', value: '' }], ...tb(1) }],
        global: [{ id: 'global', entries: [{ key: 'user', value: '' }], requestsPerUnit: 5, unit: 'MINUTE' }],
      },
    });
    expect(engine.decide(req([['user', 'u']]))).toMatchObject({
      outcome: 'allowed',
      ruleId: 'global',
      ruleKind: 'global',
      remaining: 4,
    });
    expect(engine.decide(req([['user', 'u']]))).toMatchObject({ outcome: 'limited', ruleId: 'local' });
    expect(engine.rules().find((r) => r.id === 'global')).toMatchObject({
      limit: 5,
      windowMs: 60_000,
      dynamicKeys: 1,
    });
  });

  it('rejects an invalid rule set and keeps the current one in force', () => {
    const engine = new RateLimitEngine({
      clock: new FakeClock(START),
      rules: { local: [{ id: 'a', entries: [{ key: 'k', value: 'v' }], ...tb(1) }] },
    });
    expect(() => engine.applyRules({ local: [{ id: 'a', entries: [], ...tb(1) }] })).toThrow(RuleSetError);
    expect(engine.decide(req([['k', 'v']])).ruleId).toBe('a');
  });

  it('a decision in flight finishes against the rule set it began with', async () => {
    const clock = new FakeClock(START);
    const store = new MemoryWindowStore({ clock });
    const engine = new RateLimitEngine({
      clock,
      store,
      rules: {
        global: [{ id: 'old', entries: [{ key: 'k', value: 'v' }], requestsPerUnit: 1, unit: 'SECOND' }],
      },
    });
    const inFlight = engine.decideAsync(req([['k', 'v']]));
    engine.applyRules({
      global: [{ id: 'new', entries: [{ key: 'k', value: 'v' }], requestsPerUnit: 1, unit: 'SECOND' }],
    });
    expect((await inFlight).ruleId).toBe('old');
    expect((await engine.decideAsync(req([['k', 'v']]))).ruleId).toBe('new');
    expect(() => engine.decide(req([['k', 'v']]))).toThrow(/decideAsync/);
  });

  it('reports through listeners, a ring of recent decisions and per-second series', () => {
    const clock = new FakeClock(START);
    const engine = new RateLimitEngine({
      clock,
      recentCapacity: 3,
      historySeconds: 5,
      rules: {
        local: [{ id: 'u', entries: [{ key: 'u', value: '' }], ...tb(2) }],
        defaultBucket: PERMISSIVE_DEFAULT_BUCKET,
      },
    });
    const seen: Decision[] = [];
    const unsubscribe = engine.subscribe((d) => seen.push(copyDecision(d)));
    for (let i = 0; i < 3; i++) engine.decide(req([['u', 'x']]));
    clock.advance(1000);
    engine.decide(req([['u', 'x']]));
    unsubscribe();
    engine.decide(req());
    expect(seen.map((d) => d.outcome)).toEqual(['allowed', 'allowed', 'limited', 'allowed']);
    const recent = engine.recent();
    expect(recent.map((d) => d.seq)).toEqual([3, 4, 5]);
    expect(recent.map((d) => d.ruleId)).toEqual(['u', 'u', DEFAULT_RULE_ID]);
    expect(engine.recent(4).map((d) => d.seq)).toEqual([5]);
    expect(engine.lastSeq).toBe(5);
    const series = engine.series(3).find((s) => s.ruleId === 'u')!;
    const second = START / 1000;
    expect(series.seconds).toEqual([
      { second: second - 1, allowed: 0, limited: 0, shadow: 0 },
      { second, allowed: 2, limited: 1, shadow: 0 },
      { second: second + 1, allowed: 1, limited: 0, shadow: 0 },
    ]);
    expect(series.totals).toEqual({ allowed: 3, limited: 1, shadow: 0 });
    engine.applyRules({ local: [{ id: 'u', entries: [{ key: 'u', value: '' }], ...tb(9) }] });
    expect(engine.series(1).find((s) => s.ruleId === 'u')!.totals.allowed).toBe(3);
  });

  it('the ring keeps each decision as it was, figures derived from the bucket it was drawn from', () => {
    const clock = new FakeClock(START);
    const engine = new RateLimitEngine({
      clock,
      recentCapacity: 10,
      historySeconds: 2,
      rules: { local: [{ id: 'u', entries: [{ key: 'u', value: '' }], ...tb(2) }] },
    });
    const seen: Decision[] = [];
    engine.subscribe((d) => seen.push(copyDecision(d)));
    engine.decide(req([['u', 'x']]));
    clock.advance(100);
    engine.decide({ descriptors: [[{ key: 'u', value: 'x' }]], hits: 2 }); // limited: retry after the refill
    // A raised quota: decisions made before it keep the limit and times they were made with.
    engine.applyRules({ local: [{ id: 'u', entries: [{ key: 'u', value: '' }], ...tb(50) }] });
    clock.advance(100);
    engine.decide(req([['u', 'x']]));
    expect(seen[1]).toMatchObject({ outcome: 'limited', limit: 2, remaining: 1, hits: 2 });
    expect(seen[1]!.retryAfterMs).toBeGreaterThan(0);
    expect(seen[2]).toMatchObject({ outcome: 'allowed', limit: 50 });
    const recent = engine.recent().map(({ seq: _seq, ...d }) => d);
    expect(recent).toEqual(seen);
    // Totals outlive the seconds kept in the per-second history.
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      engine.decide(req([['u', 'y']]));
    }
    expect(engine.series(2).find((s) => s.ruleId === 'u')!.totals).toEqual({
      allowed: 7,
      limited: 1,
      shadow: 0,
    });
  });

  it('the ring keeps window and bucket decisions alike, the newest `capacity` of them', () => {
    const clock = new FakeClock(START);
    const engine = new RateLimitEngine({
      clock,
      recentCapacity: 5, // not a power of two: still exactly the newest five
      rules: {
        local: [{ id: 'l', entries: [{ key: 'u', value: '' }], ...tb(100) }],
        global: [{ id: 'g', entries: [{ key: 'k', value: 'v' }], requestsPerUnit: 2, unit: 'MINUTE' }],
      },
    });
    const seen: Decision[] = [];
    engine.subscribe((d) => seen.push(copyDecision(d)));
    for (let i = 0; i < 4; i++) {
      engine.decide({ descriptors: [[{ key: 'k', value: 'v' }]], hits: 1 + i });
      engine.decide({ descriptors: [[{ key: 'u', value: `x${i}` }]], hits: 3_000_000_000 + i });
      clock.advance(7);
    }
    const recent = engine.recent();
    expect(recent.map((d) => d.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(recent.map(({ seq: _seq, ...d }) => d)).toEqual(seen.slice(3));
    expect(recent.find((d) => d.ruleId === 'g' && d.outcome === 'limited')).toMatchObject({
      ruleKind: 'global',
      limit: 2,
      remaining: 0,
    });
    expect(recent.at(-1)).toMatchObject({ ruleId: 'l', hits: 3_000_000_003, outcome: 'limited' });
    expect(engine.recent(0, 2).map((d) => d.seq)).toEqual([7, 8]);
  });

  it('treats hits 0 as 1 (Envoy hits_addend) and rejects nonsense', () => {
    const engine = new RateLimitEngine({ clock: new FakeClock(START), rules: { defaultBucket: tb(5) } });
    expect(engine.decide({ descriptors: [], hits: 0 }).remaining).toBe(4);
    expect(() => engine.decide({ descriptors: [], hits: -1 })).toThrow(RangeError);
    expect(() => engine.decide({ descriptors: [], hits: 1.5 })).toThrow(RangeError);
  });
});
