import { CompiledGlobalRule, type CompiledRule, type Descriptor } from './rules';

/** A rule as it stands now, for display. */
export interface RuleSummary {
  readonly id: string;
  readonly kind: 'local' | 'global' | 'default';
  readonly entries: Descriptor;
  readonly shadow: boolean;
  /** `maxTokens` or `requestsPerUnit`. */
  readonly limit: number;
  /** Token buckets: tokens per second. Windows: the window in milliseconds. */
  readonly ratePerSecond: number | null;
  readonly windowMs: number | null;
  /** Distinct values held for a blank-value rule (0 for exact rules). */
  readonly dynamicKeys: number;
}

export function summarizeRule(rule: CompiledRule): RuleSummary {
  if (rule instanceof CompiledGlobalRule) {
    return {
      id: rule.id,
      kind: 'global',
      entries: rule.entries,
      shadow: rule.shadow,
      limit: rule.requestsPerUnit,
      ratePerSecond: null,
      windowMs: rule.unitMs,
      dynamicKeys: rule.table?.size ?? 0,
    };
  }
  return {
    id: rule.id,
    kind: rule.kind === 'default' ? 'default' : 'local',
    entries: rule.entries,
    shadow: rule.shadow,
    limit: rule.params.maxTokens,
    ratePerSecond: rule.params.ratePerSecond,
    windowMs: null,
    dynamicKeys: rule.table?.size ?? 0,
  };
}
