import { parseSmartLimiter } from '@governor/crd-types';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyEdit, type FormEdit } from './apply-edit';
import { readLimiterForm, type LimiterForm } from './form-state';
import type { JsonObject } from './json';
import { newLimiter } from './new-limiter';

const written = (text: string): JsonObject => parse(text) as JsonObject;

const form = (o: JsonObject): LimiterForm => {
  const r = readLimiterForm(o);
  if (!r.ok) throw new Error(r.reason);
  return r.form;
};

/** Every field the form does not show, in the spellings Slime's manifests use. */
const reviews = `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata:
  name: reviews
  namespace: default
  labels: { team: bookinfo }
  annotations: { owner: erin }
spec:
  gateway: false
  host: reviews.example.com
  workloadSelector: { app: reviews }
  target: { direction: inbound, port: 9080 }
  sets:
    _base:
      descriptor:
        - action:
            fillInterval: { seconds: 60 }
            quota: '100'
            strategy: single
            headers_to_add: [{ key: x-limited, value: 'yes' }]
          condition: 'true'
          match: [{ name: x-user, exact_match: bot, invert_match: true }]
`;
const at = { set: '_base', index: 0 };

describe('applyEdit', () => {
  it('changes the quota and keeps every field the form does not show', () => {
    const before = written(reviews);
    expect(form(before).limits[0]?.fillInterval).toEqual({ seconds: 60 });
    const after = applyEdit(before, { kind: 'quota', at, value: '9' });
    const expected = written(reviews);
    (
      expected as { spec: { sets: { _base: { descriptor: { action: JsonObject }[] } } } }
    ).spec.sets._base.descriptor[0]!.action.quota = '9';
    expect(after).toEqual(expected);
    expect(before).toEqual(written(reviews));
  });

  it('reads lowerCamel fillInterval and writes it back in the spelling the object uses', () => {
    const camel = applyEdit(written(reviews), {
      kind: 'fillInterval',
      at,
      value: { seconds: 2, nanos: 5e8 },
    });
    expect(parseSmartLimiter(camel).ok).toBe(true);
    const action = (camel as { spec: { sets: { _base: { descriptor: { action: JsonObject }[] } } } }).spec
      .sets._base.descriptor[0]!.action;
    expect(action.fillInterval).toEqual({ seconds: 2, nanos: 5e8 });
    expect(action).not.toHaveProperty('fill_interval');

    const snake = applyEdit(written(reviews.replace('fillInterval', 'fill_interval')), {
      kind: 'fillInterval',
      at,
      value: { seconds: 3 },
    });
    expect(JSON.stringify(snake)).toContain('"fill_interval":{"seconds":3}');
    expect(JSON.stringify(snake)).not.toContain('fillInterval');
  });

  it('shows the port of spec.target, and an edited port keeps the rest of that target', () => {
    const before = written(reviews);
    expect(form(before).limits[0]?.port).toBe(9080);
    const after = applyEdit(before, { kind: 'port', at, value: 9090 });
    expect(after.spec).toMatchObject({
      target: { direction: 'inbound', port: 9080 },
      sets: { _base: { descriptor: [{ target: { direction: 'inbound', port: 9090 } }] } },
    });
  });

  it('edits the header of an inverted match and keeps the inversion', () => {
    const after = applyEdit(written(reviews), { kind: 'headerValue', at, value: 'crawler' });
    expect(form(after).limits[0]?.header).toEqual({ name: 'x-user', value: 'crawler', invert: true });
    expect(JSON.stringify(after)).toContain('{"name":"x-user","exact_match":"crawler","invert_match":true}');
  });

  it('leaves matchers it does not show alone, and shows no header for them', () => {
    const text = reviews.replace('exact_match: bot', 'regex_match: "bot.*"');
    const before = written(text);
    expect(form(before).limits[0]?.header).toBeNull();
    for (const edit of [
      { kind: 'headerName', at, value: 'x-other' },
      { kind: 'headerValue', at, value: 'x' },
      { kind: 'headerInvert', at, value: false },
    ] satisfies FormEdit[])
      expect(applyEdit(before, edit)).toEqual(before);
  });

  it('adds a header match in the spelling of the object, and drops it once emptied', () => {
    const camel = written(reviews.replace(/\n {10}match:.*\n/, '\n'));
    const added = applyEdit(camel, { kind: 'headerName', at, value: 'x-user' });
    expect(JSON.stringify(added)).toContain('"match":[{"name":"x-user","exactMatch":""}]');
    expect(applyEdit(added, { kind: 'headerName', at, value: '' })).toEqual(camel);
  });

  it('toggles shadow mode without touching the other annotations', () => {
    const on = applyEdit(written(reviews), { kind: 'shadow', value: true });
    expect(on.metadata).toMatchObject({ annotations: { owner: 'erin', 'governor.io/shadow': 'true' } });
    expect(applyEdit(on, { kind: 'shadow', value: false })).toEqual(written(reviews));
  });

  it('sets the clusters a policy is copied to, as the fan-out reads them, and back to this one only', () => {
    const all = applyEdit(written(reviews), { kind: 'clusters', value: { mode: 'all' } });
    expect((all.metadata as JsonObject).annotations).toEqual({ owner: 'erin', 'governor.io/clusters': '*' });
    expect(form(all).clusters).toEqual({ mode: 'all' });
    const some = applyEdit(all, { kind: 'clusters', value: { mode: 'some', names: ['east', 'west'] } });
    expect((some.metadata as JsonObject).annotations).toEqual({
      owner: 'erin',
      'governor.io/clusters': 'east,west',
    });
    expect(form(some).clusters).toEqual({ mode: 'some', names: ['east', 'west'] });
    expect(applyEdit(some, { kind: 'clusters', value: { mode: 'here' } })).toEqual(written(reviews));
    // The last annotation gone, the map goes too: a new policy stays as it was.
    const fresh = newLimiter({ namespace: 'default', name: 'ratings', port: 9080 });
    const there = applyEdit(fresh, { kind: 'clusters', value: { mode: 'some', names: ['west'] } });
    expect(applyEdit(there, { kind: 'clusters', value: { mode: 'here' } })).toEqual(fresh);
  });

  it('reads the clusters annotation as written by hand: spaces, repeats, blanks, a star among names', () => {
    const withValue = (v: string) =>
      form(
        written(
          reviews.replace('annotations: { owner: erin }', `annotations: { governor.io/clusters: '${v}' }`),
        ),
      ).clusters;
    expect(withValue(' east , west ,east,')).toEqual({ mode: 'some', names: ['east', 'west'] });
    expect(withValue('west, *')).toEqual({ mode: 'all' });
    expect(withValue('')).toEqual({ mode: 'some', names: [] });
    expect(form(written(reviews)).clusters).toEqual({ mode: 'here' });
  });

  it('renames a set that has one limit in place, and moves a limit out of a larger set', () => {
    const two = written(`apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: { name: reviews, namespace: default }
spec:
  sets:
    _base:
      descriptor:
        - { action: { fill_interval: { seconds: 1 }, quota: '1' }, condition: 'true', target: { port: 9080 } }
        - { action: { fill_interval: { seconds: 1 }, quota: '2' }, condition: 'true', target: { port: 9080 } }
    v1:
      note: kept
      descriptor:
        - { action: { fill_interval: { seconds: 1 }, quota: '3' }, condition: 'true', target: { port: 9080 } }
`);
    const renamed = applyEdit(two, { kind: 'set', at: { set: 'v1', index: 0 }, value: 'v2' });
    expect(Object.keys((renamed.spec as { sets: JsonObject }).sets)).toEqual(['_base', 'v2']);
    expect(form(renamed).limits.map((l) => [l.at.set, l.quota])).toEqual([
      ['_base', '1'],
      ['_base', '2'],
      ['v2', '3'],
    ]);
    const moved = applyEdit(two, { kind: 'set', at: { set: '_base', index: 0 }, value: 'v1' });
    expect(form(moved).limits.map((l) => [l.at.set, l.quota])).toEqual([
      ['_base', '2'],
      ['v1', '3'],
      ['v1', '1'],
    ]);
    expect((moved.spec as { sets: { v1: JsonObject } }).sets.v1.note).toBe('kept');
  });

  it('takes any set name, those JavaScript objects inherit included', () => {
    const before = newLimiter({ namespace: 'default', name: 'ratings', port: 9080 });
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const after = applyEdit(before, { kind: 'set', at, value: name });
      expect(Object.keys((after.spec as { sets: JsonObject }).sets)).toEqual([name]);
      expect(form(after).limits.map((l) => l.at)).toEqual([{ set: name, index: 0 }]);
    }
  });

  it('removes a limit, and its set once nothing else is left in it', () => {
    const before = newLimiter({ namespace: 'default', name: 'ratings', port: 9080 });
    const removed = applyEdit(before, { kind: 'removeLimit', at });
    expect(removed.spec).toEqual({ sets: {} });
    expect(form(removed).limits).toEqual([]);
  });

  it('adds a limit that inherits spec.target rather than overriding it', () => {
    const after = applyEdit(written(reviews), { kind: 'addLimit', port: 9080 });
    const added = form(after).limits[1];
    expect(added).toMatchObject({ at: { set: '_base', index: 1 }, quota: '10', port: 9080 });
    expect(JSON.stringify(after)).toContain(
      '{"action":{"fillInterval":{"seconds":1},"quota":"10","strategy":"single"},"condition":"true"}',
    );
  });
});

describe('newLimiter', () => {
  it('is a valid SmartLimiter with one limit, in snake_case like Slime’s documentation', () => {
    const o = newLimiter({ namespace: 'default', name: 'ratings', port: 9080 });
    expect(parseSmartLimiter(o).ok).toBe(true);
    expect(o).toEqual({
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: { name: 'ratings', namespace: 'default' },
      spec: {
        sets: {
          _base: {
            descriptor: [
              {
                action: { fill_interval: { seconds: 1 }, quota: '10', strategy: 'single' },
                condition: 'true',
                target: { port: 9080 },
              },
            ],
          },
        },
      },
    });
  });
});
