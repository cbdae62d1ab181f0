/**
 * The limiter's rendered rules as the engine's rules: one mapping, used by the rate-limit service, the
 * what-if replay and the simulated mesh alike.
 */
import type { GlobalDescriptorRule, LocalDescriptorRule } from '@governor/limiter';
import type { RenderedRule } from './render';

export function localRule(r: RenderedRule): LocalDescriptorRule {
  return {
    id: r.id,
    entries: r.entries.map((e) => ({ key: e.key, value: e.value ?? '' })),
    maxTokens: r.quota,
    tokensPerFill: r.quota,
    fillIntervalMs: r.fillIntervalMs,
    shadow: r.shadow,
  };
}

export function globalRule(r: RenderedRule): GlobalDescriptorRule | null {
  if (!r.unit) return null;
  return {
    id: r.id,
    entries: r.entries.map((e) => ({ key: e.key, value: e.value ?? '' })),
    requestsPerUnit: r.quota,
    unit: r.unit,
    failMode: r.failMode,
    shadow: r.shadow,
  };
}

/** The global rules among rendered rules; one without a unit is no global rule (its plan is invalid). */
export function globalRulesOf(rules: readonly RenderedRule[]): GlobalDescriptorRule[] {
  return rules.flatMap((r) => {
    const g = r.strategy === 'global' ? globalRule(r) : null;
    return g ? [g] : [];
  });
}
