/** envoyproxy/ratelimit's rule files: Aeraki's demo file, nesting, and every refusal with its line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aerakiFixturesDir } from '@governor/crd-types/testing';
import { formatConfigIssue, parseRateLimitConfig, parseRateLimitConfigs } from './ratelimit-config';

const errors = (text: string) =>
  parseRateLimitConfig('rules.yaml', text)
    .issues.filter((i) => i.severity === 'error')
    .map(formatConfigIssue);

describe('parseRateLimitConfig', () => {
  it("reads Aeraki's thrift demo file: one limit of 10 a minute on method sayHello", () => {
    const file = join(aerakiFixturesDir, 'thrift/config.yaml');
    const { config, issues } = parseRateLimitConfig(file, readFileSync(file, 'utf8'));
    expect(issues).toEqual([]);
    expect(config).toEqual({
      file,
      domain: 'production',
      rules: [
        {
          id: 'production:method=sayHello',
          entries: [{ key: 'method', value: 'sayHello' }],
          requestsPerUnit: 10,
          unit: 'MINUTE',
        },
      ],
    });
  });

  it('flattens nested descriptors into key/value chains; a blank value is any value', () => {
    const { config, issues } = parseRateLimitConfig(
      'nested.yaml',
      `domain: mongo
descriptors:
  - key: database
    value: users
    rate_limit: {unit: Second, requests_per_unit: 500}
    descriptors:
      - key: client
        shadow_mode: true
        detailed_metric: true
        rate_limit: {unit: HOUR, requests_per_unit: 0, name: per-client}
  - key: remote_address
    rate_limit: {unit: day, requests_per_unit: 1000, replaces: [{name: per-client}]}
  - key: internal
    rate_limit: {unlimited: true}
  - key: path
    value: "/api/*"
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: health
    value: 10
`,
    );
    expect(issues).toEqual([]);
    expect(config!.rules).toEqual([
      {
        id: 'mongo:database=users',
        entries: [{ key: 'database', value: 'users' }],
        requestsPerUnit: 500,
        unit: 'SECOND',
      },
      {
        id: 'mongo:database=users.client',
        entries: [
          { key: 'database', value: 'users' },
          { key: 'client', value: '' },
        ],
        requestsPerUnit: 0,
        unit: 'HOUR',
        shadow: true,
        name: 'per-client',
        detailedMetric: true,
      },
      {
        id: 'mongo:remote_address',
        entries: [{ key: 'remote_address', value: '' }],
        requestsPerUnit: 1000,
        unit: 'DAY',
        replaces: ['per-client'],
      },
      { id: 'mongo:internal', entries: [{ key: 'internal', value: '' }], unlimited: true },
      {
        id: 'mongo:path=/api/*',
        entries: [{ key: 'path', value: '/api/*' }],
        requestsPerUnit: 5,
        unit: 'MINUTE',
      },
      // A leaf without rate_limit: matched, never limited (a number is read as written).
      { id: 'mongo:health=10', entries: [{ key: 'health', value: '10' }], unlimited: true },
    ]);
  });

  it('refuses a file without a domain, and says where', () => {
    expect(
      errors('descriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1}\n'),
    ).toEqual(['rules.yaml:1:1: error: config file cannot have empty domain']);
    expect(errors('domain: ""\n')).toEqual(['rules.yaml:1:9: error: config file cannot have empty domain']);
    expect(errors('- a\n')).toEqual(['rules.yaml:1:1: error: expected a map with domain and descriptors']);
    expect(errors('domain: [\n')).toHaveLength(1);
  });

  it('refuses the same descriptor twice at one level, naming the first', () => {
    expect(
      errors(`domain: d
descriptors:
  - key: method
    value: sayHello
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: method
    value: sayHello
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: method
  - key: method
`),
    ).toEqual([
      'rules.yaml:6:10: error: duplicate descriptor method=sayHello: descriptors[0] (line 3) has it already',
      'rules.yaml:10:10: error: duplicate descriptor method: descriptors[2] (line 9) has it already',
    ]);
    // The same key and value under different parents is no duplicate.
    expect(
      errors(`domain: d
descriptors:
  - {key: a, descriptors: [{key: m, rate_limit: {unit: second, requests_per_unit: 1}}]}
  - {key: b, descriptors: [{key: m, rate_limit: {unit: second, requests_per_unit: 1}}]}
`),
    ).toEqual([]);
  });

  it('refuses bad units, negative and fractional quotas, an empty key, and a unit on an unlimited limit', () => {
    expect(
      errors(`domain: d
descriptors:
  - key: a
    rate_limit:
      unit: fortnight
      requests_per_unit: 1
  - key: b
    rate_limit:
      unit: minute
      requests_per_unit: -1
  - key: c
    rate_limit:
      unit: month
      requests_per_unit: 1.5
  - value: x
  - key: e
    rate_limit: {unlimited: true, unit: second}
  - key: f
    rate_limit: {requests_per_unit: 3}
`),
    ).toEqual([
      "rules.yaml:5:13: error: invalid rate limit unit 'fortnight': expected second, minute, hour or day",
      'rules.yaml:10:26: error: requests_per_unit must be a whole number from 0 to 4294967295 (got -1)',
      "rules.yaml:13:13: error: unit 'month' is not supported: Governor's windows are second, minute, hour and day",
      'rules.yaml:14:26: error: requests_per_unit must be a whole number from 0 to 4294967295 (got 1.5)',
      'rules.yaml:15:5: error: descriptor has empty key',
      'rules.yaml:17:41: error: should not specify rate limit unit when unlimited',
      'rules.yaml:19:17: error: rate_limit needs a unit: second, minute, hour or day',
    ]);
  });

  it('refuses unknown keys as envoyproxy/ratelimit does, suggesting the key meant or where it belongs', () => {
    expect(
      errors(`domain: d
descriptor:
  - key: a
descriptors:
  - key: a
    rate_limit:
      uint: minute
      requests_per_unit: 1
      shadow_mode: true
    quota_mode: true
    colour: red
`),
    ).toEqual([
      // An issue about a key points at its value (the line after the key for a list).
      "rules.yaml:3:3: error: unknown key 'descriptor' in the top level; did you mean 'descriptors'?",
      'rules.yaml:7:7: error: rate_limit needs a unit: second, minute, hour or day',
      "rules.yaml:7:13: error: unknown key 'uint' in rate_limit; did you mean 'unit'?",
      "rules.yaml:9:20: error: unknown key 'shadow_mode' in rate_limit; it belongs in a descriptor",
      "rules.yaml:10:17: error: quota_mode is not supported by Governor's rate-limit service",
      "rules.yaml:11:13: error: unknown key 'colour' in a descriptor; known keys: key, value, rate_limit, descriptors, shadow_mode, detailed_metric, value_to_metric, metadata, quota_mode, share_threshold",
    ]);
  });

  it('warns that a limit without requests_per_unit denies everything, as envoyproxy/ratelimit reads it', () => {
    const { config, issues } = parseRateLimitConfig(
      'rules.yaml',
      'domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second}\n',
    );
    expect(config!.rules[0]).toMatchObject({ requestsPerUnit: 0 });
    expect(issues.map(formatConfigIssue)).toEqual([
      'rules.yaml:4:17: warning: no requests_per_unit: every request is over the limit (0 per unit)',
    ]);
  });
});

describe('parseRateLimitConfigs', () => {
  it('reads several domains; two files with one domain are refused', () => {
    const a = { file: 'a.yaml', text: 'domain: production\n' };
    const b = { file: 'b.yaml', text: 'domain: staging\n' };
    expect(parseRateLimitConfigs([a, b]).configs.map((c) => c.domain)).toEqual(['production', 'staging']);
    const dup = parseRateLimitConfigs([a, b, { file: 'c.yaml', text: '# c\ndomain: production\n' }]);
    expect(dup.configs).toEqual([]);
    expect(dup.issues.map(formatConfigIssue)).toEqual([
      "c.yaml:2:9: error: duplicate domain 'production' in config file (a.yaml has it)",
    ]);
  });
});
