/** The rate-limit engine. Pure TypeScript: no I/O in its core, time comes from an injected clock. */
export { FakeClock, systemClock, type Clock } from './clock';
export { BucketParams, TokenBucket, type TokenBucketConfig } from './token-bucket';
export {
  isOverLimit,
  unitToMs,
  WINDOW_UNITS,
  windowRemaining,
  windowStartMs,
  type FixedWindowLimit,
  type WindowUnit,
} from './fixed-window';
export {
  compileRuleSet,
  DEFAULT_MAX_DYNAMIC_DESCRIPTORS,
  DEFAULT_RULE_ID,
  descriptorMatches,
  PERMISSIVE_DEFAULT_BUCKET,
  RuleSetError,
  validateRuleSet,
  type DefaultBucketRule,
  type Descriptor,
  type DescriptorEntry,
  type FailMode,
  type GlobalDescriptorRule,
  type LocalDescriptorRule,
  type RuleSetInput,
} from './rules';
export {
  copyDecision,
  type Decision,
  type DecisionListener,
  type DecisionSource,
  type Outcome,
  type RecordedDecision,
  type RuleKind,
  type RuleSeries,
  type SecondCounts,
} from './decision';
export { RateLimitEngine, type DecideRequest, type EngineOptions, type RuleSummary } from './engine';
export { MemoryWindowStore, SlotTable, type MemoryWindowStoreOptions } from './stores/memory';
export {
  RedisWindowStore,
  WINDOW_BATCH_SCRIPT,
  type RedisStoreHealth,
  type RedisWindowStoreOptions,
} from './stores/redis';
export type { WindowCount, WindowIncrement, WindowStore } from './stores/window-store';
