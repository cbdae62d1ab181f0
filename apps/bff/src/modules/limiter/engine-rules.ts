/**
 * The limiter's rendered rules as the engine's rules: one mapping, used by the rate-limit service, the
 * what-if replay and the simulated mesh alike.
 */
import type { GlobalDescriptorRule, LocalDescriptorRule } from '@governor/limiter';
import type { RenderedRule } from './render';

/** What a local and a global rule share: which requests they count, and whether they only report. */
const common = (r: RenderedRule) => ({
  id: r.id,
  entries: r.entries.map((e) => ({ key: e.key, value: e.value ?? '' })),
  shadow: r.shadow,
});

export function localRule(r: RenderedRule): LocalDescriptorRule {
  return { ...common(r), maxTokens: r.quota, tokensPerFill: r.quota, fillIntervalMs: r.fillIntervalMs };
}

export function globalRule(r: RenderedRule): GlobalDescriptorRule | null {
  if (!r.unit) return null;
  return { ...common(r), requestsPerUnit: r.quota, unit: r.unit, failMode: r.failMode };
}

/** The global rules among rendered rules; one without a unit is no global rule (its plan is invalid). */
export function globalRulesOf(rules: readonly RenderedRule[]): GlobalDescriptorRule[] {
  return rules.flatMap((r) => {
    const g = r.strategy === 'global' ? globalRule(r) : null;
    return g ? [g] : [];
  });
}
