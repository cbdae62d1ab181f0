import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixtureFiles, readYamlDocuments, slimeFixturesDir } from '../test/fixtures';
import { parseSmartLimiter, type SmartLimiter } from './smartlimiter';

const ok = (input: unknown): SmartLimiter => {
  const r = parseSmartLimiter(input);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.value;
};

const limiter = (spec: string) =>
  parse(`apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec:
${spec.replace(/^/gm, '  ')}`) as unknown;

describe('parseSmartLimiter', () => {
  const files = [
    ...fixtureFiles(/^doc-.*\.yaml$/),
    ...fixtureFiles(/\.local\.yaml$/, `${slimeFixturesDir}/conversion`),
  ];

  it.each(files.map((f) => [f.slice(slimeFixturesDir.length + 1), f]))(
    'accepts Slime manifest %s unchanged',
    (_, file) => {
      const docs = readYamlDocuments(file);
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) {
        const r = parseSmartLimiter(doc);
        expect(r.ok ? [] : r.issues).toEqual([]);
        expect(r.warnings).toEqual([]);
      }
    },
  );

  it('normalises snake_case and lowerCamel to the same object', () => {
    const snake = ok(
      limiter(`sets:
  _base:
    descriptor:
    - action: {fill_interval: {seconds: 60}, quota: "10", strategy: single, headers_to_add: [{key: a, value: b}]}
      condition: "true"
      custom_key: k
      custom_value: v
      match: [{name: foo, exact_match: bar, invert_match: true, match_source: QueryMatch}]
workload_selector: {app: reviews}`),
    );
    const camel = ok(
      limiter(`sets:
  _base:
    descriptor:
    - action: {fillInterval: {seconds: "60"}, quota: "10", strategy: single, headersToAdd: [{key: a, value: b}]}
      condition: "true"
      customKey: k
      customValue: v
      match: [{name: foo, exactMatch: bar, invertMatch: true, matchSource: 1}]
workloadSelector: {app: reviews}`),
    );
    expect(camel.spec).toEqual(snake.spec);
    expect(snake.spec.sets?._base?.descriptor?.[0]).toEqual({
      action: {
        fillInterval: { seconds: 60 },
        quota: '10',
        strategy: 'single',
        headersToAdd: [{ key: 'a', value: 'b' }],
      },
      condition: 'true',
      customKey: 'k',
      customValue: 'v',
      match: [{ name: 'foo', exactMatch: 'bar', invertMatch: true, matchSource: 'QueryMatch' }],
    });
    expect(snake.spec.workloadSelector).toEqual({ app: 'reviews' });
  });

  it('takes the same value given in both spellings, refuses two different ones', () => {
    expect(
      parseSmartLimiter(
        limiter(`sets:
  _base:
    descriptor:
    - {action: {fill_interval: {seconds: 1}, fillInterval: {seconds: 1}, quota: "1"}, condition: "true"}`),
      ).ok,
    ).toBe(true);
    const r = parseSmartLimiter(
      limiter(`sets:
  _base:
    descriptor:
    - {action: {fill_interval: {seconds: 1}, fillInterval: {seconds: 2}, quota: "1"}, condition: "true"}`),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]?.path).toBe('spec.sets._base.descriptor[0].action.fill_interval');
      expect(r.issues[0]?.message).toMatch(/fillInterval and fill_interval/);
    }
  });

  it('names the field path and the problem for bad input', () => {
    const r = parseSmartLimiter(
      limiter(`sets:
  _base:
    descriptor:
    - action: {fill_interval: {seconds: 60}, quota: 10, strategy: fastest}
      condition: "true"
      target: {port: http}`),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
    expect(byPath['spec.sets._base.descriptor[0].action.quota']).toMatch(/^expected a string/);
    expect(byPath['spec.sets._base.descriptor[0].action.strategy']).toMatch(/"single", "average", "global"/);
    expect(byPath['spec.sets._base.descriptor[0].target.port']).toMatch(/expected an integer/);
  });

  it('requires condition, action, quota and fill interval', () => {
    const r = parseSmartLimiter(
      limiter(`sets:
  _base:
    descriptor:
    - action: {strategy: single}
    - condition: "true"`),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => `${i.path}: ${i.message}`).sort()).toEqual([
      'spec.sets._base.descriptor[0].action.fillInterval: required',
      'spec.sets._base.descriptor[0].action.quota: required',
      'spec.sets._base.descriptor[0].condition: required',
      'spec.sets._base.descriptor[1].action: required',
    ]);
  });

  it('keeps unknown fields out of the way and reports them with a suggestion', () => {
    const r = parseSmartLimiter(
      limiter(`sets:
  _base:
    descriptor:
    - action: {fill_interval: {seconds: 60}, quota: "10"}
      condition: "true"
      conditon: "{{._base.cpu.sum}}>10"
      x-team: payments
colour: blue`),
    );
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      { path: 'spec.sets._base.descriptor[0].conditon', key: 'conditon', suggestion: 'condition' },
      { path: 'spec.sets._base.descriptor[0].x-team', key: 'x-team' },
      { path: 'spec.colour', key: 'colour' },
    ]);
    if (r.ok) expect(r.value.spec.sets?._base?.descriptor?.[0]).not.toHaveProperty('conditon');
  });

  it('treats YAML nulls as absent, as Slime does for `match:` with nothing after it', () => {
    const v = ok(
      limiter(`gateway: true
workloadSelector: {gw_cluster: prod-gateway}
sets:
  _base:
    descriptor:
    - action: {fill_interval: {seconds: 60}, quota: "10", strategy: global}
      condition: "true"
      match:
      target: {direction: outbound, route: [a.test.com:80/default]}`),
    );
    expect(v.spec.sets?._base?.descriptor?.[0]?.match).toBeUndefined();
  });

  it('refuses what is not a SmartLimiter', () => {
    for (const input of [null, 42, 'x', [], {}, { apiVersion: 'v1', kind: 'SmartLimiter' }]) {
      const r = parseSmartLimiter(input);
      expect(r.ok).toBe(false);
    }
  });

  it('defaults the namespace to default', () => {
    const v = ok({
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: { name: 'x' },
      spec: {},
    });
    expect(v.metadata.namespace).toBe('default');
  });
});
