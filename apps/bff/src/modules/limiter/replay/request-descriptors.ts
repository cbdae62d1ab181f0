/**
 * What Envoy's route `rate_limits` actions produce for one request: for each rendered rule, the descriptor
 * its actions generate, or nothing when an action does not apply (a RateLimit entry yields a descriptor only
 * when every one of its actions produced an entry).
 */
import type { Descriptor, DescriptorEntry } from '@governor/limiter';
import type { RE2JS } from 're2js';
import { compileRe2, type HeaderMatch, type QueryMatch, type RenderedRule } from '../render';

export interface ReplayRequest {
  /** Header names are matched case-insensitively (HTTP/2 lowercases them). */
  readonly headers: ReadonlyMap<string, string>;
  readonly query: ReadonlyMap<string, string>;
  readonly sourceIp?: string;
}

/** Compiled patterns; bounded, since a what-if replay brings patterns of its own. */
const regexCache = new Map<string, RE2JS | null>();
const REGEX_CACHE_SIZE = 512;

/**
 * Envoy's safe_regex: RE2 syntax, matching the whole value, in time linear in its length (never
 * backtracking). A pattern RE2 refuses matches nothing (rendering reports it).
 */
function fullMatch(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const compiled = compileRe2(pattern);
    re = compiled.ok ? compiled.regex : null;
    if (regexCache.size >= REGEX_CACHE_SIZE) regexCache.delete(regexCache.keys().next().value as string);
    regexCache.set(pattern, re);
  }
  return re !== null && re.matches(value);
}

function stringMatches(kind: HeaderMatch['kind'], expected: string, value: string): boolean {
  switch (kind) {
    case 'exact':
      return value === expected;
    case 'prefix':
      return value.startsWith(expected);
    case 'suffix':
      return value.endsWith(expected);
    case 'regex':
      return fullMatch(expected, value);
    case 'empty':
      return value === '';
    case 'present':
      return true;
  }
}

/**
 * Envoy's HeaderUtility::matchHeaders: an absent header matches only an inverted presence check; otherwise
 * the comparison's result, inverted by `invert_match`.
 */
export function headerMatches(m: HeaderMatch, request: ReplayRequest): boolean {
  const value = request.headers.get(m.name.toLowerCase());
  if (value === undefined) return m.invert && m.kind === 'present';
  return stringMatches(m.kind, m.value, value) !== m.invert;
}

function queryMatches(m: QueryMatch, request: ReplayRequest): boolean {
  const value = request.query.get(m.name);
  return value !== undefined && stringMatches(m.kind, m.value, value);
}

/** The descriptor the rule's route actions produce for the request, or null when they produce none. */
export function descriptorFor(rule: RenderedRule, request: ReplayRequest): Descriptor | null {
  const headers = rule.match.filter((m): m is HeaderMatch => m.source === 'header' && !m.separate);
  const queries = rule.match.filter((m): m is QueryMatch => m.source === 'query');
  const separate = rule.match.find((m): m is HeaderMatch => m.source === 'header' && m.separate);
  const out: DescriptorEntry[] = [];
  for (const e of rule.entries) {
    switch (e.key) {
      case 'generic_key':
        out.push({ key: e.key, value: e.value ?? '' });
        break;
      case 'header_match':
        if (!headers.every((h) => headerMatches(h, request))) return null;
        out.push({ key: e.key, value: e.value ?? '' });
        break;
      case 'query_match': {
        // expect_match: false (all query matchers inverted) produces the entry when they do NOT all match.
        const inverted = queries.length > 0 && queries.every((q) => q.invert);
        const all = queries.every((q) => queryMatches(q, request));
        if (all === inverted) return null;
        out.push({ key: e.key, value: e.value ?? '' });
        break;
      }
      case 'remote_address':
        if (request.sourceIp === undefined) return null;
        out.push({ key: e.key, value: request.sourceIp });
        break;
      default: {
        // request_headers (present_match_separate): the header's own value; custom keys come from an
        // EnvoyPlugin, never from the route.
        if (separate === undefined || e.value !== undefined) return null;
        const value = request.headers.get(separate.name.toLowerCase());
        if (value === undefined) return null;
        out.push({ key: e.key, value });
      }
    }
  }
  return out;
}
