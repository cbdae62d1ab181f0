import { describe, expect, it } from 'vitest';
import {
  compileRuleSet,
  DEFAULT_RULE_ID,
  RuleSetError,
  validateRuleSet,
  type LocalDescriptorRule,
} from './rules';

const bucket = { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 };
const local = (id: string, entries: [string, string][]): LocalDescriptorRule => ({
  id,
  entries: entries.map(([key, value]) => ({ key, value })),
  ...bucket,
});
const d = (...entries: [string, string][]) => entries.map(([key, value]) => ({ key, value }));

describe('descriptor matching (Envoy local_ratelimit)', () => {
  const rs = compileRuleSet(
    {
      local: [
        local('wild-then-exact', [
          ['path', ''],
          ['method', 'GET'],
        ]),
        local('per-user', [['user', '']]),
        local('alice', [['user', 'alice']]),
        local('pair', [
          ['user', 'bob'],
          ['plan', ''],
        ]),
        local('two-blanks', [
          ['tenant', ''],
          ['user', ''],
        ]),
      ],
    },
    { nowMs: 0, historySeconds: 60 },
  );
  const match = (...entries: [string, string][]) => rs.local.match(d(...entries))?.id;

  it('prefers a rule whose entries equal the descriptor over one with blank values', () => {
    expect(match(['user', 'alice'])).toBe('alice');
    expect(match(['user', 'carol'])).toBe('per-user');
  });

  it('needs the same length and the same keys in the same order', () => {
    expect(match(['user', 'bob'], ['plan', 'gold'])).toBe('pair');
    expect(match(['plan', 'gold'], ['user', 'bob'])).toBeUndefined();
    expect(match(['user', 'bob'], ['plan', 'gold'], ['x', 'y'])).toBeUndefined();
    expect(match(['path', '/a'], ['method', 'GET'])).toBe('wild-then-exact');
    expect(match(['path', '/a'], ['method', 'POST'])).toBeUndefined();
    expect(match()).toBeUndefined();
  });

  it('keys per-value state by the values at the blank entries', () => {
    const rule = rs.localRules.find((r) => r.id === 'two-blanks')!;
    const a = rule.rowFor(d(['tenant', 't1'], ['user', 'u1']), 0);
    const b = rule.rowFor(d(['tenant', 't1'], ['user', 'u2']), 0);
    expect(a).not.toBe(b);
    expect(rule.rowFor(d(['tenant', 't1'], ['user', 'u1']), 0)).toBe(a);
    expect(rule.table!.size).toBe(2);
  });

  it('uses a hash index when many first keys are configured', () => {
    const many = compileRuleSet(
      { local: Array.from({ length: 20 }, (_, i) => local(`r${i}`, [[`k${i}`, '']])) },
      { nowMs: 0, historySeconds: 60 },
    );
    expect(many.local.match(d(['k13', 'x']))?.id).toBe('r13');
    expect(many.local.match(d(['k99', 'x']))).toBeUndefined();
  });
});

describe('rule set validation', () => {
  it('explains every problem and names the rule', () => {
    const issues = validateRuleSet({
      local: [
        { id: 'a', entries: [], maxTokens: 0, tokensPerFill: 1.5, fillIntervalMs: -1 },
        local('a', [['k', 'v']]),
        local('b', [['k', 'v']]),
        local(DEFAULT_RULE_ID, [['x', 'y']]),
      ],
      global: [
        {
          id: 'g',
          entries: [{ key: '', value: 'v' }],
          requestsPerUnit: -1,
          unit: 'WEEK' as 'DAY',
          failMode: 'maybe' as 'open',
        },
      ],
      defaultBucket: { maxTokens: 0, tokensPerFill: 1, fillIntervalMs: 1000 },
      maxDynamicDescriptors: 0,
    });
    expect(issues).toEqual([
      'local[0] "a": entries must list at least one key/value',
      'local[0] "a": maxTokens must be a positive integer (got 0)',
      'local[0] "a": tokensPerFill must be a positive integer (got 1.5)',
      'local[0] "a": fillIntervalMs must be a positive number (got -1)',
      'local[1] "a": duplicate id "a"',
      'local[2] "b": same entries as local rule "a"',
      `local[3] "${DEFAULT_RULE_ID}": id "${DEFAULT_RULE_ID}" is reserved for the default bucket`,
      'global[0] "g": entries[0].key must be a non-empty string',
      'global[0] "g": requestsPerUnit must be a non-negative integer (got -1)',
      'global[0] "g": unit must be one of SECOND, MINUTE, HOUR, DAY (got WEEK)',
      'global[0] "g": failMode must be "open" or "closed" (got maybe)',
      'defaultBucket: maxTokens must be a positive integer (got 0)',
      'maxDynamicDescriptors must be a positive integer (got 0)',
    ]);
    expect(() => compileRuleSet({ local: [local('a', [])] }, { nowMs: 0, historySeconds: 60 })).toThrow(
      RuleSetError,
    );
  });

  it('ranks matched buckets by fill rate, strictest first, the default bucket last', () => {
    const rs = compileRuleSet(
      {
        local: [
          { ...local('fast', [['a', '1']]), tokensPerFill: 100 },
          { ...local('slow', [['b', '1']]), tokensPerFill: 1, fillIntervalMs: 1000 },
          { ...local('mid', [['c', '1']]), tokensPerFill: 10, fillIntervalMs: 500 },
        ],
        defaultBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 },
      },
      { nowMs: 0, historySeconds: 60 },
    );
    expect(rs.all().map((r) => [r.id, (r as { rank: number }).rank])).toEqual([
      ['fast', 2],
      ['slow', 0],
      ['mid', 1],
      [DEFAULT_RULE_ID, 3],
    ]);
  });
});
