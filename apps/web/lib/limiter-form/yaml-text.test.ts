import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { applyEdit, type FormEdit } from './apply-edit';
import { readLimiterForm } from './form-state';
import { writtenLimiter } from './limiter-arbitrary';
import { editLimiterText, readLimiterText, toYamlText, writeLimiterText } from './yaml-text';

const commented = `# Reviews: held to 90 requests a second when its CPU is busy.
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: { name: reviews, namespace: default }
spec:
  sets:
    _base:
      descriptor:
        # The busy-CPU limit.
        - action: { fill_interval: { seconds: 1 }, quota: '90', strategy: average }
          condition: '{{._base.cpu.percent}}>80' # 80% of the CPU limit
          target: { port: 9080 }
        # Bots, always.
        - action: { fill_interval: { seconds: 1 }, quota: '5' }
          condition: 'true'
          match: [{ name: x-user, exact_match: bot }]
          target: { port: 9080 }
`;

describe('editLimiterText', () => {
  it('rewrites only the edited value: comments, flow style and quoting stay', () => {
    const after = editLimiterText(commented, { kind: 'quota', at: { set: '_base', index: 0 }, value: '60' });
    // As the YAML library prints the text unchanged, but for the one value.
    const printed = parseDocument(commented).toString({ lineWidth: 0 });
    expect(after).toBe(printed.replace("quota: '90'", "quota: '60'"));
    expect(after).toContain("condition: '{{._base.cpu.percent}}>80' # 80% of the CPU limit");
  });

  it('removes a limit with the comment that belongs to it, and keeps the other one’s', () => {
    const after = editLimiterText(commented, { kind: 'removeLimit', at: { set: '_base', index: 1 } });
    expect(after).not.toContain('Bots');
    expect(after).not.toContain("quota: '5'");
    expect(after).toContain('# The busy-CPU limit.');
    expect(after).toContain('# Reviews: held to 90 requests a second');
  });

  it('quotes a value that would read as another type', () => {
    const after = editLimiterText(commented, {
      kind: 'condition',
      at: { set: '_base', index: 1 },
      value: '{{._base.qps}}>=12',
    });
    expect(parse(after).spec.sets._base.descriptor[1].condition).toBe('{{._base.qps}}>=12');
  });

  it('is the edit of the parsed object, written back, for any policy and edit', () => {
    const at = { set: '_base', index: 0 };
    const edits = fc.oneof(
      fc.boolean().map((value): FormEdit => ({ kind: 'shadow', value })),
      fc.constantFrom<FormEdit>(
        { kind: 'clusters', value: { mode: 'all' } },
        { kind: 'clusters', value: { mode: 'here' } },
        { kind: 'clusters', value: { mode: 'some', names: ['east', 'west'] } },
      ),
      fc.integer({ min: 1, max: 65_535 }).map((port): FormEdit => ({ kind: 'addLimit', port })),
      fc.string({ maxLength: 8 }).map((value): FormEdit => ({ kind: 'quota', at, value })),
      fc.constant<FormEdit>({ kind: 'removeLimit', at }),
      fc.constant<FormEdit>({ kind: 'set', at, value: 'v9' }),
    );
    fc.assert(
      fc.property(writtenLimiter, edits, (w, edit) => {
        const text = toYamlText(w);
        const read = readLimiterText(text);
        expect(read.ok && read.written).toEqual(w);
        expect(parse(editLimiterText(text, edit))).toEqual(applyEdit(w, edit));
      }),
      { numRuns: 200 },
    );
  });
});

describe('writeLimiterText', () => {
  it('turns the text of one policy into any other, key order included', () => {
    fc.assert(
      fc.property(writtenLimiter, writtenLimiter, (a, b) => {
        const after = writeLimiterText(toYamlText(a), b);
        expect(parse(after)).toEqual(b);
        expect(JSON.stringify(parse(after))).toBe(JSON.stringify(b));
      }),
      { numRuns: 200 },
    );
  });

  it('writes a text that does not parse anew', () => {
    const b = { apiVersion: 'v', kind: 'SmartLimiter' };
    expect(parse(writeLimiterText('a: [', b))).toEqual(b);
  });
});

describe('readLimiterText', () => {
  it('says why the form cannot show a text', () => {
    expect(readLimiterText('spec: [')).toEqual({
      ok: false,
      reason: 'The YAML does not parse: fix it in the YAML tab.',
    });
    expect(readLimiterText('- a list')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Not a SmartLimiter'),
    });
    expect(readLimiterText('spec: { sets: { _base: { descriptor: 3 } } }')).toEqual({
      ok: false,
      reason:
        'The form cannot show this policy: spec.sets._base.descriptor is not a list. Fix it in the YAML tab.',
    });
  });

  it('reads a YAML alias as a copy, so an edit of one place changes that place only', () => {
    const text = `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: { name: reviews, namespace: default }
spec:
  sets:
    _base:
      descriptor:
        - &limit { action: { fill_interval: { seconds: 1 }, quota: '5' }, condition: 'true', target: { port: 9080 } }
        - *limit
`;
    const after = editLimiterText(text, { kind: 'quota', at: { set: '_base', index: 1 }, value: '7' });
    const r = readLimiterForm(parse(after));
    expect(r.ok && r.form.limits.map((l) => l.quota)).toEqual(['5', '7']);
  });
});
