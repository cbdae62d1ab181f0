/**
 * envoyproxy/ratelimit's rule files (`domain`, nested `descriptors` with `rate_limit`), read as it reads
 * them and flattened into Governor's domain rules: one rule per descriptor that has a `rate_limit` (or is
 * a leaf without one, which envoyproxy/ratelimit matches and does not limit), its entries the key/value
 * chain from the domain down. Every issue points at a line.
 *
 * Where it is stricter: a key is checked where it stands (envoyproxy/ratelimit accepts any of its keys at
 * any level and ignores the misplaced ones, e.g. `shadow_mode` inside `rate_limit`); units beyond DAY,
 * `quota_mode` and `share_threshold` are refused rather than served differently. `detailed_metric`,
 * `value_to_metric` and `metadata` name statistics and response metadata only: accepted, not used.
 */
import { closeKeys } from '@governor/crd-types';
import { WINDOW_UNITS, type WindowUnit } from '@governor/limiter';
import type { InputIssue } from '../lib/input-issues';
import { readYaml, type Locate } from '../lib/yaml-input';
import { domainRuleId, type DomainRule } from './domain-rules';

/** An issue of one rule file, located in it. */
export interface RateLimitConfigIssue extends InputIssue {
  readonly file: string;
}

/** One rule file, read. */
export interface RateLimitConfig {
  readonly file: string;
  readonly domain: string;
  readonly rules: readonly DomainRule[];
}

const ROOT_KEYS = ['domain', 'descriptors'] as const;
const DESCRIPTOR_KEYS = [
  'key',
  'value',
  'rate_limit',
  'descriptors',
  'shadow_mode',
  'detailed_metric',
  'value_to_metric',
  'metadata',
  'quota_mode',
  'share_threshold',
] as const;
const RATE_LIMIT_KEYS = ['unit', 'requests_per_unit', 'unlimited', 'name', 'replaces'] as const;
const REPLACES_KEYS = ['name'] as const;
const PLACES: readonly (readonly [string, readonly string[]])[] = [
  ['the top level', ROOT_KEYS],
  ['a descriptor', DESCRIPTOR_KEYS],
  ['rate_limit', RATE_LIMIT_KEYS],
  ['a replaces entry', REPLACES_KEYS],
];
/** Units envoyproxy/ratelimit knows that Governor's fixed windows do not have. */
const OTHER_UNITS = ['WEEK', 'MONTH', 'YEAR'];
const UINT32_MAX = 4_294_967_295;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Reader {
  readonly issues: RateLimitConfigIssue[] = [];
  constructor(
    private readonly file: string,
    private readonly locate: Locate,
  ) {}

  /** `descriptors[0] (line 3)`. */
  where(path: string): string {
    const at = this.locate(path);
    return at ? `${path} (line ${at.line})` : path;
  }

  issue(path: string, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.issues.push({ file: this.file, path, message, severity, ...this.locate(path) });
  }

  /** Refuses keys not known where they stand, naming a close one or where the key belongs. */
  keys(obj: Obj, path: string, place: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const close = closeKeys(key, known, 1)[0];
      const elsewhere = PLACES.find(([, keys]) => keys.includes(key))?.[0];
      const hint = close
        ? `; did you mean '${close}'?`
        : elsewhere
          ? `; it belongs in ${elsewhere}`
          : `; known keys: ${known.join(', ')}`;
      this.issue(join(path, key), `unknown key '${key}' in ${place}${hint}`);
    }
  }

  bool(obj: Obj, key: string, path: string): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') {
      this.issue(join(path, key), `${key} must be true or false (got ${JSON.stringify(v)})`);
      return false;
    }
    return v;
  }

  string(obj: Obj, key: string, path: string): string {
    const v = obj[key];
    if (v === undefined || v === null) return '';
    // YAML scalars land in envoyproxy/ratelimit's string fields as written: `value: 10` is "10".
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') {
      this.issue(join(path, key), `${key} must be a string`);
      return '';
    }
    return v;
  }

  list(obj: Obj, key: string, path: string): { item: Obj; path: string }[] {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.issue(join(path, key), `${key} must be a list`);
      return [];
    }
    return v.flatMap((item, i) => {
      const p = `${join(path, key)}[${i}]`;
      if (!isObj(item)) {
        this.issue(p, `${key} must list maps (got ${JSON.stringify(item)})`);
        return [];
      }
      return [{ item, path: p }];
    });
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

interface Chain {
  readonly entries: readonly { key: string; value: string }[];
}

function readDescriptors(
  r: Reader,
  domain: string,
  parent: Obj,
  path: string,
  chain: Chain,
  rules: DomainRule[],
): void {
  const seen = new Map<string, string>();
  for (const { item, path: p } of r.list(parent, 'descriptors', path)) {
    r.keys(item, p, 'a descriptor', DESCRIPTOR_KEYS);
    const key = r.string(item, 'key', p);
    const value = r.string(item, 'value', p);
    if (key === '') {
      r.issue(p, 'descriptor has empty key');
      continue;
    }
    // envoyproxy/ratelimit keys a level by `key` or `key_value`: a blank value is the key alone.
    const composite = value === '' ? key : `${key}_${value}`;
    const first = seen.get(composite);
    if (first !== undefined) {
      r.issue(
        join(p, 'key'),
        `duplicate descriptor ${value === '' ? key : `${key}=${value}`}: ${r.where(first)} has it already`,
      );
      continue;
    }
    seen.set(composite, p);
    for (const flag of ['quota_mode', 'share_threshold'] as const)
      if (r.bool(item, flag, p))
        r.issue(join(p, flag), `${flag} is not supported by Governor's rate-limit service`);
    r.bool(item, 'detailed_metric', p);
    r.bool(item, 'value_to_metric', p);
    if (item['metadata'] !== undefined && item['metadata'] !== null && !isObj(item['metadata']))
      r.issue(join(p, 'metadata'), 'metadata must be a map');
    const shadow = r.bool(item, 'shadow_mode', p);
    const detailedMetric = item['detailed_metric'] === true;
    const entries = [...chain.entries, { key, value }];
    const id = domainRuleId(domain, entries);
    const children = Array.isArray(item['descriptors']) && item['descriptors'].length > 0;
    const raw = item['rate_limit'];
    if (raw !== undefined && raw !== null) {
      const rule = readRateLimit(r, raw, join(p, 'rate_limit'));
      if (rule) {
        const extras = {
          ...(rule.name ? { name: rule.name } : {}),
          ...(rule.replaces.length > 0 ? { replaces: rule.replaces } : {}),
          ...(detailedMetric ? { detailedMetric } : {}),
        };
        if (rule.unit === null) rules.push({ id, entries, unlimited: true, ...extras });
        else
          rules.push({
            id,
            entries,
            requestsPerUnit: rule.requestsPerUnit,
            unit: rule.unit,
            ...(shadow ? { shadow } : {}),
            ...extras,
          });
      }
    } else if (!children) {
      // A leaf without a limit still takes the lookup: a sibling with any value does not limit it.
      rules.push({ id, entries, unlimited: true });
    }
    readDescriptors(r, domain, item, p, { entries }, rules);
  }
}

function readRateLimit(
  r: Reader,
  raw: unknown,
  path: string,
): { unit: WindowUnit | null; requestsPerUnit: number; name: string; replaces: string[] } | null {
  if (!isObj(raw)) {
    r.issue(path, 'rate_limit must be a map with unit and requests_per_unit');
    return null;
  }
  r.keys(raw, path, 'rate_limit', RATE_LIMIT_KEYS);
  const unlimited = r.bool(raw, 'unlimited', path);
  const unitText = r.string(raw, 'unit', path);
  const upper = unitText.toUpperCase();
  const valid = (WINDOW_UNITS as readonly string[]).includes(upper);
  let ok = true;
  if (unlimited) {
    if (valid || OTHER_UNITS.includes(upper)) {
      r.issue(join(path, 'unit'), 'should not specify rate limit unit when unlimited');
      ok = false;
    }
  } else if (!valid) {
    ok = false;
    r.issue(
      unitText === '' ? path : join(path, 'unit'),
      OTHER_UNITS.includes(upper)
        ? `unit '${unitText}' is not supported: Governor's windows are second, minute, hour and day`
        : unitText === ''
          ? 'rate_limit needs a unit: second, minute, hour or day'
          : `invalid rate limit unit '${unitText}': expected second, minute, hour or day`,
    );
  }
  const q = raw['requests_per_unit'];
  let requestsPerUnit = 0;
  if (q === undefined || q === null) {
    if (!unlimited)
      r.issue(path, 'no requests_per_unit: every request is over the limit (0 per unit)', 'warning');
  } else if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > UINT32_MAX) {
    ok = false;
    r.issue(
      join(path, 'requests_per_unit'),
      `requests_per_unit must be a whole number from 0 to ${UINT32_MAX} (got ${JSON.stringify(q)})`,
    );
  } else requestsPerUnit = q;
  const name = r.string(raw, 'name', path);
  const replaces: string[] = [];
  for (const { item, path: p } of r.list(raw, 'replaces', path)) {
    r.keys(item, p, 'a replaces entry', REPLACES_KEYS);
    const replaced = r.string(item, 'name', p);
    if (replaced === '') {
      r.issue(p, 'should not have an empty replaces entry');
      ok = false;
    } else if (replaced === name) {
      r.issue(p, 'replaces should not contain name of same descriptor');
      ok = false;
    } else replaces.push(replaced);
  }
  if (!ok) return null;
  return { unit: unlimited ? null : (upper as WindowUnit), requestsPerUnit, name, replaces };
}

/** One rule file: its rules, or null and the issues that keep it from loading (warnings do not). */
export function parseRateLimitConfig(
  file: string,
  text: string,
): { config: RateLimitConfig | null; issues: RateLimitConfigIssue[] } {
  const yaml = readYaml(text);
  if (yaml.issues.length > 0) return { config: null, issues: yaml.issues.map((i) => ({ ...i, file })) };
  const r = new Reader(file, yaml.locate);
  const root = yaml.value;
  if (!isObj(root)) {
    r.issue('', 'expected a map with domain and descriptors');
    return { config: null, issues: r.issues };
  }
  r.keys(root, '', 'the top level', ROOT_KEYS);
  const domain = r.string(root, 'domain', '');
  if (domain === '')
    r.issue(root['domain'] === undefined ? '' : 'domain', 'config file cannot have empty domain');
  const rules: DomainRule[] = [];
  readDescriptors(r, domain, root, '', { entries: [] }, rules);
  const failed = r.issues.some((i) => i.severity === 'error');
  const issues = r.issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { config: failed ? null : { file, domain, rules }, issues };
}

/** Several rule files; two with one domain are refused, as envoyproxy/ratelimit does by default. */
export function parseRateLimitConfigs(files: readonly { readonly file: string; readonly text: string }[]): {
  configs: RateLimitConfig[];
  issues: RateLimitConfigIssue[];
} {
  const configs: RateLimitConfig[] = [];
  const issues: RateLimitConfigIssue[] = [];
  const byDomain = new Map<string, string>();
  for (const { file, text } of files) {
    const parsed = parseRateLimitConfig(file, text);
    issues.push(...parsed.issues);
    if (!parsed.config) continue;
    const other = byDomain.get(parsed.config.domain);
    if (other !== undefined) {
      const at = readYaml(text).locate('domain');
      issues.push({
        file,
        path: 'domain',
        message: `duplicate domain '${parsed.config.domain}' in config file (${other} has it)`,
        severity: 'error',
        ...at,
      });
      continue;
    }
    byDomain.set(parsed.config.domain, file);
    configs.push(parsed.config);
  }
  const failed = issues.some((i) => i.severity === 'error');
  return { configs: failed ? [] : configs, issues };
}

/** `file:line:column: error: message`, as compilers print. */
export function formatConfigIssue(issue: RateLimitConfigIssue): string {
  const at = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return `${at}: ${issue.severity}: ${issue.message}`;
}
