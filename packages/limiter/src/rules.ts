import { RuleStats, ruleKindCode, type RuleKind } from './decision';
import { unitToMs, WINDOW_STRIDE, WINDOW_UNITS, windowInit, type WindowUnit } from './fixed-window';
import { SlotTable } from './stores/memory';
import {
  BUCKET_LAST_MS,
  BUCKET_STRIDE,
  bucketInit,
  BucketParams,
  bucketReconfigure,
  type TokenBucketConfig,
} from './token-bucket';

/** One `key=value` entry of a descriptor, as Envoy's `RateLimitDescriptor.Entry`. */
export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

/** An ordered list of entries. A request carries several (one per route `rate_limits` action set). */
export type Descriptor = readonly DescriptorEntry[];

/**
 * A local (per-process) limit: one token bucket per descriptor, as one `descriptors[]` item of Envoy's
 * `LocalRateLimit`. An entry with a blank value matches any value, with one bucket per distinct value.
 */
export interface LocalDescriptorRule {
  /** Stable identity: a rule keeps its bucket state across rule-set swaps as long as its id is unchanged. */
  readonly id: string;
  readonly entries: Descriptor;
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  /** Evaluate and record, never enforce (Envoy's `filter_enforced` at 0%). */
  readonly shadow?: boolean;
}

/** What a global limit does when its shared store is unavailable. */
export type FailMode = 'open' | 'closed';

/**
 * A global (shared) limit: a fixed-window counter per descriptor in the shared store, as one descriptor
 * of envoyproxy/ratelimit's configuration. A blank entry value means one counter per distinct value.
 */
export interface GlobalDescriptorRule {
  readonly id: string;
  readonly entries: Descriptor;
  readonly requestsPerUnit: number;
  readonly unit: WindowUnit;
  /** `open` (default): fall back to counting in this process. `closed`: deny while the store is down. */
  readonly failMode?: FailMode;
  readonly shadow?: boolean;
}

/** The bucket for requests no local descriptor matched (Envoy's top-level `token_bucket`). */
export interface DefaultBucketRule extends TokenBucketConfig {
  readonly shadow?: boolean;
}

/** Everything the engine enforces. Applied atomically with {@link RateLimitEngine.applyRules}. */
export interface RuleSetInput {
  readonly local?: readonly LocalDescriptorRule[];
  readonly global?: readonly GlobalDescriptorRule[];
  /** Absent or null: requests matching no local descriptor are not limited locally. */
  readonly defaultBucket?: DefaultBucketRule | null;
  /**
   * Also charge the default bucket when a descriptor matched (Envoy's `always_consume_default_token_bucket`).
   * Default false: the default bucket applies only when no descriptor matched. Envoy's own default is
   * true; a renderer that wants Envoy's behaviour exactly passes what it renders.
   */
  readonly alwaysConsumeDefault?: boolean;
  /** Bound on the per-value buckets (counters) of each blank-value rule, least recently used evicted. Default 10,000. */
  readonly maxDynamicDescriptors?: number;
}

/** The id decisions carry when the default bucket decided. */
export const DEFAULT_RULE_ID = '_default';

/** The permissive default bucket Governor renders: 100,000 requests per second. */
export const PERMISSIVE_DEFAULT_BUCKET: DefaultBucketRule = Object.freeze({
  maxTokens: 100_000,
  tokensPerFill: 100_000,
  fillIntervalMs: 1_000,
});

export const DEFAULT_MAX_DYNAMIC_DESCRIPTORS = 10_000;

/** A rule set that does not validate; nothing was applied. */
export class RuleSetError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid rule set: ${issues.join('; ')}`);
    this.name = 'RuleSetError';
  }
}

const NO_ENTRIES: Descriptor = Object.freeze([]);

/** Separates wildcard values in a per-value key; control characters cannot appear in header values. */
const VALUE_SEPARATOR = '\u001f';

/** What every compiled rule has: identity, entries and matching. */
abstract class CompiledRuleBase {
  /** Positions of blank-value entries (one state per distinct request value there). */
  readonly wildcards: readonly number[];
  readonly isExact: boolean;
  /** The position of the only blank entry, or -1 (none, or several). */
  readonly soleWildcard: number;
  /** {@link kind} as the decision ring codes it. */
  readonly kindCode: number;

  constructor(
    readonly id: string,
    readonly kind: RuleKind,
    readonly entries: Descriptor,
    /** Position in the input, which breaks ties between wildcard rules as Envoy's config order does. */
    readonly order: number,
    readonly shadow: boolean,
    readonly stats: RuleStats,
  ) {
    const wildcards: number[] = [];
    entries.forEach((entry, i) => {
      if (entry.value === '') wildcards.push(i);
    });
    this.wildcards = wildcards;
    this.isExact = wildcards.length === 0;
    this.soleWildcard = wildcards.length === 1 ? wildcards[0]! : -1;
    this.kindCode = ruleKindCode(kind);
  }

  /**
   * The per-value key of a matched request descriptor. With one blank entry it is the request's value
   * itself, so the hot path builds no string.
   */
  valueKey(descriptor: Descriptor): string {
    const sole = this.soleWildcard;
    return sole >= 0 ? descriptor[sole]!.value : this.joinedValueKey(descriptor);
  }

  /** {@link valueKey} with several blank entries: their values joined. */
  private joinedValueKey(descriptor: Descriptor): string {
    const w = this.wildcards;
    let key = '';
    for (let i = 0; i < w.length; i++) key += (i === 0 ? '' : VALUE_SEPARATOR) + descriptor[w[i]!]!.value;
    return key;
  }
}

/** A compiled local descriptor (or the default bucket) with its bucket state. */
export class CompiledLocalRule extends CompiledRuleBase {
  /** Order in which matched buckets are evaluated: by fill rate, strictest first, the default bucket last. */
  rank = 0;
  /** The bucket row of an exact rule (or the default bucket). */
  readonly single: Float64Array | null;
  /** Per-value bucket rows of a blank-value rule. */
  readonly table: SlotTable | null;

  constructor(
    base: {
      id: string;
      kind: 'local' | 'default';
      entries: Descriptor;
      order: number;
      shadow: boolean;
      stats: RuleStats;
    },
    readonly params: BucketParams,
    state: { single: Float64Array | null; table: SlotTable | null },
  ) {
    super(base.id, base.kind, base.entries, base.order, base.shadow, base.stats);
    this.single = state.single;
    this.table = state.table;
  }

  /** The row offset of the bucket a matched request descriptor draws from (created full on first use). */
  rowFor(descriptor: Descriptor, nowMs: number): number {
    const table = this.table;
    if (table === null) return 0;
    const o = table.acquire(this.valueKey(descriptor));
    if (table.created) bucketInit(table.state, o, this.params, nowMs);
    return o;
  }

  /**
   * {@link rowFor} for the hot path: a new row is marked by a negative time (`-1`), which the engine turns
   * into a full bucket. Taking no timestamp argument keeps a call the compiler does not inline from boxing one.
   */
  rowForNew(descriptor: Descriptor): number {
    const table = this.table;
    if (table === null) return 0;
    const key = this.valueKey(descriptor);
    const o = table.find(key);
    return o >= 0 ? o : this.addRow(table, key);
  }

  /** A new row for {@link rowForNew}, marked new (kept out of it, so that the common case inlines). */
  private addRow(table: SlotTable, key: string): number {
    const o = table.insert(key);
    table.state[o + BUCKET_LAST_MS] = -1;
    return o;
  }

  /** The array holding this rule's bucket rows (re-read after {@link rowFor}: a table may grow). */
  get state(): Float64Array {
    return this.table === null ? this.single! : this.table.state;
  }
}

/** A compiled global descriptor, with the in-process counters used without a shared store or as its fallback. */
export class CompiledGlobalRule extends CompiledRuleBase {
  readonly unitMs: number;
  readonly single: Float64Array | null;
  readonly table: SlotTable | null;

  constructor(
    base: { id: string; entries: Descriptor; order: number; shadow: boolean; stats: RuleStats },
    readonly requestsPerUnit: number,
    readonly unit: WindowUnit,
    readonly failMode: FailMode,
    state: { single: Float64Array | null; table: SlotTable | null },
  ) {
    super(base.id, 'global', base.entries, base.order, base.shadow, base.stats);
    this.unitMs = unitToMs(unit);
    this.single = state.single;
    this.table = state.table;
  }

  /** The row offset of the in-process counter of a matched request descriptor. */
  rowFor(descriptor: Descriptor): number {
    const table = this.table;
    if (table === null) return 0;
    const o = table.acquire(this.valueKey(descriptor));
    if (table.created) windowInit(table.state, o);
    return o;
  }

  get state(): Float64Array {
    return this.table === null ? this.single! : this.table.state;
  }

  /**
   * The shared store's counter key (without the window): the rule id, plus the request's values at the
   * blank entries. Keyed by id rather than by quota, so a quota change keeps the count.
   */
  storeKey(descriptor: Descriptor): string {
    return this.isExact ? this.id : this.id + VALUE_SEPARATOR + this.valueKey(descriptor);
  }
}

export type CompiledRule = CompiledLocalRule | CompiledGlobalRule;

/** Up to this many distinct first keys, the index scans instead of hashing. */
const SMALL_INDEX = 4;

class KeyGroup<R> {
  /** Rules whose first entry has this exact value, in config order. */
  readonly byFirstValue = new Map<string, R[]>();
  /** Rules whose first entry is blank, in config order. */
  readonly wildFirst: R[] = [];
  /**
   * For one-entry request descriptors (the usual case), which only one-entry rules can match: the exact
   * rules by value (null when there are none) and the first blank one. An exact rule wins, as in {@link match}.
   */
  singleExact: Map<string, R> | null = null;
  singleWild: R | undefined = undefined;
}

/** Whether a request descriptor matches a rule: same length, same keys in order, equal values or a blank rule value. */
export function descriptorMatches(rule: Descriptor, request: Descriptor): boolean {
  if (rule.length !== request.length) return false;
  for (let i = 0; i < rule.length; i++) {
    const r = rule[i]!;
    const q = request[i]!;
    if (r.key !== q.key) return false;
    if (r.value !== '' && r.value !== q.value) return false;
  }
  return true;
}

/**
 * Finds the rule a request descriptor matches, as Envoy's local rate limiter does: a rule whose entries
 * equal the descriptor's wins; otherwise the first (in config order) rule with blank values that matches.
 * Rules are indexed by their first key and value, so a lookup touches only the few candidates.
 */
export class DescriptorIndex<R extends CompiledRule> {
  private readonly groups = new Map<string, KeyGroup<R>>();
  /**
   * With few distinct first keys (the usual case: a route's rules share `generic_key` or a header name), a
   * scan comparing short strings beats a hash lookup; the map serves larger sets.
   */
  private readonly smallKeys: string[] | null;
  private readonly smallGroups: KeyGroup<R>[] | null;
  /**
   * The usual route: every rule shares one first key, and the one-entry rules for it have blank values
   * (one bucket per value). A one-entry descriptor with that key then matches {@link soleWild} outright.
   */
  private readonly soleKey: string | null = null;
  private readonly soleWild: R | undefined = undefined;
  readonly size: number;

  constructor(rules: readonly R[]) {
    this.size = rules.length;
    const sorted = [...rules].sort((a, b) => a.order - b.order);
    for (const rule of sorted) {
      const first = rule.entries[0]!;
      let group = this.groups.get(first.key);
      if (group === undefined) {
        group = new KeyGroup<R>();
        this.groups.set(first.key, group);
      }
      if (first.value === '') group.wildFirst.push(rule);
      else {
        const list = group.byFirstValue.get(first.value);
        if (list === undefined) group.byFirstValue.set(first.value, [rule]);
        else list.push(rule);
      }
      if (rule.entries.length === 1) {
        if (first.value === '') group.singleWild ??= rule;
        else {
          group.singleExact ??= new Map();
          if (!group.singleExact.has(first.value)) group.singleExact.set(first.value, rule);
        }
      }
    }
    const small = this.groups.size <= SMALL_INDEX;
    this.smallKeys = small ? [...this.groups.keys()] : null;
    this.smallGroups = small ? [...this.groups.values()] : null;
    if (this.groups.size === 1) {
      const [key, group] = [...this.groups][0]!;
      if (group.singleExact === null && group.singleWild !== undefined) {
        this.soleKey = key;
        this.soleWild = group.singleWild;
      }
    }
  }

  private group(key: string): KeyGroup<R> | undefined {
    const keys = this.smallKeys;
    if (keys === null) return this.groups.get(key);
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.smallGroups![i];
    return undefined;
  }

  match(descriptor: Descriptor): R | undefined {
    const first = descriptor[0];
    if (first === undefined) return undefined;
    if (first.key === this.soleKey && descriptor.length === 1) return this.soleWild;
    const group = this.group(first.key);
    if (group === undefined) return undefined;
    if (descriptor.length !== 1) return this.matchLong(group, descriptor);
    const exact = group.singleExact;
    if (exact === null) return group.singleWild;
    return exact.get(first.value) ?? group.singleWild;
  }

  /** {@link match} for a descriptor of several entries. */
  private matchLong(group: KeyGroup<R>, descriptor: Descriptor): R | undefined {
    const first = descriptor[0]!;
    let best: R | undefined;
    if (group.byFirstValue.size !== 0) {
      const list = group.byFirstValue.get(first.value);
      if (list !== undefined) {
        for (let i = 0; i < list.length; i++) {
          const rule = list[i]!;
          if (!descriptorMatches(rule.entries, descriptor)) continue;
          if (rule.isExact) return rule;
          if (best === undefined) best = rule;
        }
      }
    }
    const wild = group.wildFirst;
    for (let i = 0; i < wild.length; i++) {
      const rule = wild[i]!;
      if (best !== undefined && rule.order > best.order) break;
      if (descriptorMatches(rule.entries, descriptor)) return rule;
    }
    return best;
  }
}

/** A validated rule set with its state, ready for decisions. Immutable once built; swapped whole. */
export class CompiledRuleSet {
  readonly byId: ReadonlyMap<string, CompiledRule>;

  constructor(
    readonly localRules: readonly CompiledLocalRule[],
    readonly globalRules: readonly CompiledGlobalRule[],
    readonly defaultRule: CompiledLocalRule | null,
    readonly alwaysConsumeDefault: boolean,
    readonly maxDynamicDescriptors: number,
  ) {
    const byId = new Map<string, CompiledRule>();
    for (const rule of [...localRules, ...globalRules]) byId.set(rule.id, rule);
    if (defaultRule !== null) byId.set(defaultRule.id, defaultRule);
    this.byId = byId;
    this.local = new DescriptorIndex(localRules);
    this.global = new DescriptorIndex(globalRules);
    this.localOnly = globalRules.length === 0 && !alwaysConsumeDefault;
  }

  readonly local: DescriptorIndex<CompiledLocalRule>;
  readonly global: DescriptorIndex<CompiledGlobalRule>;
  /** No global rules and no default bucket charged on a match: one descriptor then means one bucket at most. */
  readonly localOnly: boolean;

  /** Every rule, default bucket last. */
  all(): CompiledRule[] {
    const all: CompiledRule[] = [...this.localRules, ...this.globalRules];
    if (this.defaultRule !== null) all.push(this.defaultRule);
    return all;
  }
}

/** Options of {@link compileRuleSet}. */
export interface CompileOptions {
  /** The rule set being replaced: rules with an unchanged id take over its state. */
  readonly previous?: CompiledRuleSet | null;
  readonly nowMs: number;
  readonly historySeconds: number;
}

const isPositiveInteger = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

function checkBucket(where: string, b: TokenBucketConfig, issues: string[]): void {
  if (!isPositiveInteger(b.maxTokens))
    issues.push(`${where}: maxTokens must be a positive integer (got ${String(b.maxTokens)})`);
  if (!isPositiveInteger(b.tokensPerFill))
    issues.push(`${where}: tokensPerFill must be a positive integer (got ${String(b.tokensPerFill)})`);
  if (!(typeof b.fillIntervalMs === 'number' && Number.isFinite(b.fillIntervalMs) && b.fillIntervalMs > 0)) {
    issues.push(`${where}: fillIntervalMs must be a positive number (got ${String(b.fillIntervalMs)})`);
  }
}

function checkEntries(where: string, entries: Descriptor, issues: string[]): void {
  if (!Array.isArray(entries) || entries.length === 0) {
    issues.push(`${where}: entries must list at least one key/value`);
    return;
  }
  entries.forEach((e, i) => {
    if (typeof e?.key !== 'string' || e.key === '')
      issues.push(`${where}: entries[${i}].key must be a non-empty string`);
    if (typeof e?.value !== 'string')
      issues.push(`${where}: entries[${i}].value must be a string (blank for one bucket per value)`);
  });
}

const entriesIdentity = (entries: Descriptor): string =>
  entries.map((e) => `${e.key}\u001f${e.value}`).join('\u001e');

/** Validates a rule set input; returns the issues (empty when valid). */
export function validateRuleSet(input: RuleSetInput): string[] {
  const issues: string[] = [];
  const ids = new Set<string>();
  const checkId = (where: string, id: unknown): void => {
    if (typeof id !== 'string' || id === '') issues.push(`${where}: id must be a non-empty string`);
    else if (id === DEFAULT_RULE_ID)
      issues.push(`${where}: id "${DEFAULT_RULE_ID}" is reserved for the default bucket`);
    else if (ids.has(id)) issues.push(`${where}: duplicate id "${id}"`);
    else ids.add(id);
  };
  const seen = { local: new Map<string, string>(), global: new Map<string, string>() };
  const checkDuplicate = (kind: 'local' | 'global', where: string, id: string, entries: Descriptor): void => {
    if (!Array.isArray(entries) || entries.length === 0) return;
    const identity = entriesIdentity(entries);
    const other = seen[kind].get(identity);
    // Envoy rejects a config with the same descriptor twice ("duplicate descriptor in the local rate descriptor").
    if (other !== undefined) issues.push(`${where}: same entries as ${kind} rule "${other}"`);
    else seen[kind].set(identity, id);
  };
  (input.local ?? []).forEach((rule, i) => {
    const where = `local[${i}]${typeof rule.id === 'string' ? ` "${rule.id}"` : ''}`;
    checkId(where, rule.id);
    checkEntries(where, rule.entries, issues);
    checkBucket(where, rule, issues);
    checkDuplicate('local', where, rule.id, rule.entries);
  });
  (input.global ?? []).forEach((rule, i) => {
    const where = `global[${i}]${typeof rule.id === 'string' ? ` "${rule.id}"` : ''}`;
    checkId(where, rule.id);
    checkEntries(where, rule.entries, issues);
    if (!(
      typeof rule.requestsPerUnit === 'number' &&
      Number.isInteger(rule.requestsPerUnit) &&
      rule.requestsPerUnit >= 0
    )) {
      issues.push(
        `${where}: requestsPerUnit must be a non-negative integer (got ${String(rule.requestsPerUnit)})`,
      );
    }
    if (!WINDOW_UNITS.includes(rule.unit))
      issues.push(`${where}: unit must be one of ${WINDOW_UNITS.join(', ')} (got ${String(rule.unit)})`);
    if (rule.failMode !== undefined && rule.failMode !== 'open' && rule.failMode !== 'closed') {
      issues.push(`${where}: failMode must be "open" or "closed" (got ${String(rule.failMode)})`);
    }
    checkDuplicate('global', where, rule.id, rule.entries);
  });
  if (input.defaultBucket != null) checkBucket('defaultBucket', input.defaultBucket, issues);
  if (input.maxDynamicDescriptors !== undefined && !isPositiveInteger(input.maxDynamicDescriptors)) {
    issues.push(
      `maxDynamicDescriptors must be a positive integer (got ${String(input.maxDynamicDescriptors)})`,
    );
  }
  return issues;
}

function statsFor(previous: CompiledRule | undefined, kind: RuleKind, historySeconds: number): RuleStats {
  return previous !== undefined && previous.kind === kind && previous.stats.historySeconds === historySeconds
    ? previous.stats
    : new RuleStats(historySeconds);
}

/** The shape of per-value state is kept only when the number of blank entries is unchanged. */
const sameShape = (a: CompiledRuleBase, entries: Descriptor): boolean =>
  a.wildcards.length === entries.filter((e) => e.value === '').length;

function compileLocal(
  rule: { id: string; kind: 'local' | 'default'; entries: Descriptor; order: number; shadow: boolean },
  config: TokenBucketConfig,
  previous: CompiledRule | undefined,
  options: CompileOptions,
  maxDynamic: number,
): CompiledLocalRule {
  const stats = statsFor(previous, rule.kind, options.historySeconds);
  const params = new BucketParams(config);
  const exact = rule.entries.every((e) => e.value !== '');
  const prev =
    previous instanceof CompiledLocalRule && previous.kind === rule.kind && sameShape(previous, rule.entries)
      ? previous
      : undefined;
  let single: Float64Array | null = null;
  let table: SlotTable | null = null;
  if (exact) {
    single = prev?.single ?? null;
    if (prev !== undefined && single !== null)
      bucketReconfigure(single, 0, prev.params, params, options.nowMs);
    else {
      single = new Float64Array(BUCKET_STRIDE);
      bucketInit(single, 0, params, options.nowMs);
    }
  } else {
    table = prev?.table ?? null;
    if (prev !== undefined && table !== null) {
      table.resize(maxDynamic);
      for (const o of table.offsets()) bucketReconfigure(table.state, o, prev.params, params, options.nowMs);
    } else table = new SlotTable(maxDynamic, BUCKET_STRIDE);
  }
  return new CompiledLocalRule({ ...rule, stats }, params, { single, table });
}

/**
 * Builds a rule set, carrying state over from `previous` by rule id: a kept rule keeps its tokens (clamped
 * to a lowered `maxTokens`, never refilled), its per-value buckets, window counters and statistics.
 * Throws {@link RuleSetError} (and changes nothing) when the input is invalid.
 */
export function compileRuleSet(input: RuleSetInput, options: CompileOptions): CompiledRuleSet {
  const issues = validateRuleSet(input);
  if (issues.length > 0) throw new RuleSetError(issues);
  const previous = options.previous ?? null;
  const maxDynamic = input.maxDynamicDescriptors ?? DEFAULT_MAX_DYNAMIC_DESCRIPTORS;
  const freeze = (entries: Descriptor): Descriptor =>
    Object.freeze(entries.map((e) => Object.freeze({ key: e.key, value: e.value })));

  const local = (input.local ?? []).map((rule, order) =>
    compileLocal(
      { id: rule.id, kind: 'local', entries: freeze(rule.entries), order, shadow: rule.shadow === true },
      { maxTokens: rule.maxTokens, tokensPerFill: rule.tokensPerFill, fillIntervalMs: rule.fillIntervalMs },
      previous?.byId.get(rule.id),
      options,
      maxDynamic,
    ),
  );
  const fallbackDefault = input.defaultBucket ?? null;
  const defaultRule =
    fallbackDefault === null
      ? null
      : compileLocal(
          {
            id: DEFAULT_RULE_ID,
            kind: 'default',
            entries: NO_ENTRIES,
            order: local.length,
            shadow: fallbackDefault.shadow === true,
          },
          {
            maxTokens: fallbackDefault.maxTokens,
            tokensPerFill: fallbackDefault.tokensPerFill,
            fillIntervalMs: fallbackDefault.fillIntervalMs,
          },
          previous?.defaultRule ?? undefined,
          options,
          maxDynamic,
        );
  // Envoy sorts matched descriptors by fill rate so the strictest is tried first and, when it limits,
  // looser buckets are not charged; the default bucket comes after them.
  [...local]
    .sort((a, b) => a.params.ratePerSecond - b.params.ratePerSecond || a.order - b.order)
    .forEach((rule, rank) => (rule.rank = rank));
  if (defaultRule !== null) defaultRule.rank = local.length;

  const global = (input.global ?? []).map((rule, order) => {
    const prevAny = previous?.byId.get(rule.id);
    const entries = freeze(rule.entries);
    const stats = statsFor(prevAny, 'global', options.historySeconds);
    const prev = prevAny instanceof CompiledGlobalRule && sameShape(prevAny, entries) ? prevAny : undefined;
    const exact = entries.every((e) => e.value !== '');
    let single: Float64Array | null = null;
    let table: SlotTable | null = null;
    if (exact) {
      single = prev?.single ?? null;
      if (single === null) {
        single = new Float64Array(WINDOW_STRIDE);
        windowInit(single, 0);
      }
    } else {
      table = prev?.table ?? new SlotTable(maxDynamic, WINDOW_STRIDE);
      table.resize(maxDynamic);
    }
    return new CompiledGlobalRule(
      { id: rule.id, entries, order, shadow: rule.shadow === true, stats },
      rule.requestsPerUnit,
      rule.unit,
      rule.failMode ?? 'open',
      { single, table },
    );
  });
  return new CompiledRuleSet(local, global, defaultRule, input.alwaysConsumeDefault === true, maxDynamic);
}
