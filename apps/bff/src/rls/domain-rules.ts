/**
 * The rules of one rate-limit domain other than the SmartLimiters': which rule a request descriptor gets,
 * by envoyproxy/ratelimit's lookup (a walk down the descriptor tree, exact value first, then `*` patterns
 * in order, then the key alone, never backtracking; a limit only where the request's last entry lands),
 * and the engine rules that count them.
 */
import type { Descriptor, DescriptorEntry, GlobalDescriptorRule, WindowUnit } from '@governor/limiter';

interface DomainRuleExtras {
  /** envoyproxy/ratelimit's `rate_limit.name`: another rule's `replaces` may drop this one. */
  readonly name?: string;
  /** Names of rules this one replaces when both match descriptors of the same request. */
  readonly replaces?: readonly string[];
  /** envoyproxy/ratelimit's `detailed_metric`: kept for display; it names statistics only. */
  readonly detailedMetric?: boolean;
}

/** A counted rule of a domain: the entry chain from the domain down (blank value: one counter per value). */
export type LimitedDomainRule = GlobalDescriptorRule & DomainRuleExtras & { readonly unlimited?: false };

/** A descriptor matched and answered OK without counting (`unlimited: true`, or no `rate_limit` at a leaf). */
export interface UnlimitedDomainRule extends DomainRuleExtras {
  readonly id: string;
  readonly entries: Descriptor;
  readonly unlimited: true;
}

/**
 * One rule of a domain. Entry values: `''` any value (one counter per value), a value with `*` a pattern
 * (`*` any characters; one counter per value), else that value.
 */
export type DomainRule = LimitedDomainRule | UnlimitedDomainRule;

/**
 * The first entry of every engine descriptor of a domain rule, whose value is the rule's id: the walk
 * picks the rule, the engine then counts exactly that one. A lone surrogate cannot come out of a decoded
 * request (invalid UTF-8 decodes to U+FFFD), so no caller can name a domain rule in its descriptors.
 */
export const DOMAIN_RULE_KEY = '\ud800rule';

/** A rule as the server holds it: its id in the engine says the domain (`production:method=sayHello`). */
export interface ResolvedDomainRule {
  readonly domain: string;
  readonly source: string;
  readonly engineId: string;
  readonly rule: DomainRule;
  /** Null for an unlimited rule. */
  readonly unit: WindowUnit | null;
}

/** `id` with the domain in front, unless it already starts with `<domain>:`. */
export function engineIdOf(domain: string, id: string): string {
  return id.startsWith(`${domain}:`) ? id : `${domain}:${id}`;
}

const SIMPLE = /^[^\s.=,"\\:]*$/;
const idValue = (v: string): string => (SIMPLE.test(v) ? v : JSON.stringify(v));

/**
 * A stable id for a chain of entries: `production:method=sayHello`, `production:method` (any value),
 * `production:tenant=a.method` (nested). Values with separators are quoted.
 */
export function domainRuleId(domain: string, entries: readonly { key: string; value?: string }[]): string {
  return `${domain}:${entries.map((e) => (e.value ? `${idValue(e.key)}=${idValue(e.value)}` : idValue(e.key))).join('.')}`;
}

class TreeNode {
  readonly exact = new Map<string, TreeNode>();
  readonly anyValue = new Map<string, TreeNode>();
  readonly patterns: { key: string; parts: readonly string[]; node: TreeNode }[] = [];
  rule: ResolvedDomainRule | null = null;

  get hasChildren(): boolean {
    return this.exact.size + this.anyValue.size + this.patterns.length > 0;
  }

  child(entry: DescriptorEntry): TreeNode {
    const { key, value } = entry;
    if (value === '') return getOrAdd(this.anyValue, key);
    if (value.includes('*')) {
      const found = this.patterns.find((p) => p.key === key && p.parts.join('*') === value);
      if (found) return found.node;
      const node = new TreeNode();
      this.patterns.push({ key, parts: value.split('*'), node });
      return node;
    }
    return getOrAdd(this.exact, `${key}\u0000${value}`);
  }

  next(entry: DescriptorEntry): TreeNode | undefined {
    const exact = this.exact.size === 0 ? undefined : this.exact.get(`${entry.key}\u0000${entry.value}`);
    if (exact !== undefined) return exact;
    for (const p of this.patterns)
      if (p.key === entry.key && patternMatches(p.parts, entry.value)) return p.node;
    return this.anyValue.get(entry.key);
  }
}

function getOrAdd(map: Map<string, TreeNode>, key: string): TreeNode {
  let node = map.get(key);
  if (node === undefined) map.set(key, (node = new TreeNode()));
  return node;
}

/** `*` matches any run of characters (none too), as envoyproxy/ratelimit's wildcard values. */
function patternMatches(parts: readonly string[], value: string): boolean {
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  if (value.length < parts.reduce((n, p) => n + p.length, 0)) return false;
  let rest = value.slice(first.length, value.length - last.length);
  for (let i = 1; i < parts.length - 1; i++) {
    const at = rest.indexOf(parts[i]!);
    if (at < 0) return false;
    rest = rest.slice(at + parts[i]!.length);
  }
  return true;
}

/** A domain's rules from every source, as a lookup tree. Throws on a chain two rules both claim. */
export class DomainTree {
  private readonly root = new TreeNode();
  readonly rules: readonly ResolvedDomainRule[];

  constructor(rules: readonly ResolvedDomainRule[]) {
    this.rules = rules;
    for (const r of rules) {
      let node = this.root;
      for (const entry of r.rule.entries) node = node.child(entry);
      if (node.rule !== null) {
        const other = node.rule;
        throw new RangeError(
          `domain ${r.domain}: ${r.engineId} (${r.source}) has the same descriptor as ${other.engineId}` +
            (other.source === r.source ? '' : ` (${other.source})`),
        );
      }
      node.rule = r;
    }
  }

  /** The rule envoyproxy/ratelimit would apply to a request descriptor, if any. */
  lookup(entries: Descriptor): ResolvedDomainRule | undefined {
    let level = this.root;
    const last = entries.length - 1;
    for (let i = 0; i <= last; i++) {
      const node = level.next(entries[i]!);
      if (node === undefined) return undefined;
      if (i === last) return node.rule ?? undefined;
      if (!node.hasChildren) return undefined;
      level = node;
    }
    return undefined;
  }
}

/** The engine rule of a counted domain rule: the rule's own id first, then its chain (patterns blank). */
export function engineRuleOf(r: ResolvedDomainRule): GlobalDescriptorRule | null {
  const rule = r.rule;
  if (rule.unlimited === true) return null;
  return {
    id: r.engineId,
    entries: [
      { key: DOMAIN_RULE_KEY, value: r.engineId },
      ...rule.entries.map((e) => ({ key: e.key, value: e.value.includes('*') ? '' : e.value })),
    ],
    requestsPerUnit: rule.requestsPerUnit,
    unit: rule.unit,
    ...(rule.failMode ? { failMode: rule.failMode } : {}),
    ...(rule.shadow ? { shadow: true } : {}),
  };
}
