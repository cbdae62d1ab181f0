import { LIMIT, MutableDecision, REMAINING, RESET_MS, RETRY_AFTER_MS } from './decision';
import type { CompiledRule } from './rules';

/** The decision object the engine fills, with the compiled rule that decided (internal). */
export class WorkingDecision extends MutableDecision {
  rule: CompiledRule | null = null;
}

/** Writes a decision that no rule applied to: allowed, without a limit. */
export function writeUnlimited(d: WorkingDecision): void {
  d.bucket = null;
  d.outcome = 'allowed';
  d.rule = null;
  d.ruleId = null;
  d.ruleKind = null;
  d.descriptor = null;
  d.source = 'local';
  const n = d.numbers;
  n[REMAINING] = Number.POSITIVE_INFINITY;
  n[LIMIT] = Number.POSITIVE_INFINITY;
  n[RESET_MS] = 0;
  n[RETRY_AFTER_MS] = 0;
}
