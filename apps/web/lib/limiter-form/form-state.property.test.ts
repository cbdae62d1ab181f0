import { parseSmartLimiter, type SmartLimiter } from '@governor/crd-types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLUSTERS_ANNOTATION, type ClusterChoice } from './clusters';
import { readLimiterForm, SHADOW_ANNOTATION, type HeaderMatch, type LimitForm } from './form-state';
import { writtenLimiter } from './limiter-arbitrary';

const normalised = (o: unknown): SmartLimiter => {
  const r = parseSmartLimiter(o);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.value;
};

/** What the form should show of each limit, from the object crd-types normalised. */
function expectedLimits(l: SmartLimiter): Omit<LimitForm, 'header'>[] {
  return Object.entries(l.spec.sets ?? {}).flatMap(([set, s]) =>
    (s.descriptor ?? []).map((d, index) => {
      const { seconds = 0, nanos = 0 } = d.action.fillInterval;
      return {
        at: { set, index },
        quota: d.action.quota,
        fillInterval: nanos === 0 ? { seconds } : { seconds, nanos },
        strategy: d.action.strategy,
        condition: d.condition,
        port: (d.target ?? l.spec.target)?.port,
      };
    }),
  );
}

/** The fan-out's reading of `governor.io/clusters`: blanks ignored, repeats collapsed, `*` for all. */
function expectedClusters(value: string | undefined): ClusterChoice {
  if (value === undefined) return { mode: 'here' };
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return names.includes('*') ? { mode: 'all' } : { mode: 'some', names: [...new Set(names)] };
}

const OTHER_MATCH_KINDS = [
  'regexMatch',
  'prefixMatch',
  'suffixMatch',
  'presentMatch',
  'isExactMatchEmpty',
  'presentMatchSeparate',
  'useQueryMatch',
] as const;

describe('readLimiterForm over generated SmartLimiters', () => {
  it('generates only SmartLimiters crd-types accepts', () => {
    fc.assert(
      fc.property(writtenLimiter, (w) => {
        const r = parseSmartLimiter(w);
        expect(r.ok ? [] : r.issues).toEqual([]);
      }),
    );
  });

  it('reads every field it shows as crd-types reads it, whatever the spelling', () => {
    fc.assert(
      fc.property(writtenLimiter, (w) => {
        const n = normalised(w);
        const r = readLimiterForm(w);
        if (!r.ok) throw new Error(r.reason);
        expect(r.form.limits.map(({ header: _h, ...rest }) => rest)).toEqual(expectedLimits(n));
        expect(r.form.name).toBe(n.metadata.name);
        expect(r.form.namespace).toBe(n.metadata.namespace);
        expect(r.form.shadow).toBe(n.metadata.annotations?.[SHADOW_ANNOTATION] === 'true');
        expect(r.form.clusters).toEqual(expectedClusters(n.metadata.annotations?.[CLUSTERS_ANNOTATION]));
        const descriptors = Object.values(n.spec.sets ?? {}).flatMap((s) => s.descriptor ?? []);
        r.form.limits.forEach((limit, i) => {
          const match = descriptors[i]?.match ?? [];
          const m = match[0];
          const shown: HeaderMatch | null =
            match.length === 0
              ? { name: '', value: '', invert: false }
              : { name: m?.name ?? '', value: m?.exactMatch ?? '', invert: m?.invertMatch ?? false };
          // The form shows a limit's matchers only when they are one exact header match.
          const oneExactHeader =
            match.length === 1 &&
            m?.exactMatch !== undefined &&
            OTHER_MATCH_KINDS.every((k) => m[k] === undefined) &&
            (m.matchSource ?? 'HeadMatch') === 'HeadMatch';
          expect(limit.header === null).toBe(match.length > 0 && !oneExactHeader);
          if (limit.header !== null) expect(limit.header).toEqual(shown);
        });
      }),
    );
  });
});
