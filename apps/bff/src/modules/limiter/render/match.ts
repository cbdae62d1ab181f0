/**
 * A SmartLimiter `match[]` list, checked and normalised once: which request property a matcher reads, how
 * it compares, and the Envoy route action that expresses it.
 */
import { isIP } from 'node:net';
import { RE2JS } from 're2js';
import type { Matcher } from '@governor/crd-types';
import type { JsonObject } from './envoy-json';

export type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regex' | 'present' | 'empty';

export interface HeaderMatch {
  readonly source: 'header';
  readonly name: string;
  readonly kind: MatchKind;
  readonly value: string;
  readonly invert: boolean;
  /** Each distinct header value gets its own counter (global strategy only). */
  readonly separate: boolean;
}
export interface QueryMatch {
  readonly source: 'query';
  readonly name: string;
  readonly kind: Exclude<MatchKind, 'present' | 'empty'>;
  readonly value: string;
  readonly invert: boolean;
}
export interface SourceIpMatch {
  readonly source: 'sourceIp';
  /** The addresses this descriptor limits; each gets its own descriptor and counter. */
  readonly ips: readonly string[];
}
export type NormalizedMatch = HeaderMatch | QueryMatch | SourceIpMatch;

export interface MatchProblem {
  readonly path: string;
  readonly message: string;
}

/** Longest regex_match accepted: Envoy keeps regexes small (it refuses large RE2 programs) and so do we. */
export const MAX_REGEX_LENGTH = 1024;

/**
 * A pattern compiled with RE2's syntax and semantics, as Envoy's `safe_regex` (google_re2) compiles it:
 * no backreferences or lookaround, and matching in time linear in the input. The error says why RE2 refuses it.
 */
export function compileRe2(pattern: string): { ok: true; regex: RE2JS } | { ok: false; error: string } {
  if (pattern.length > MAX_REGEX_LENGTH)
    return { ok: false, error: `longer than ${MAX_REGEX_LENGTH} characters (${pattern.length})` };
  try {
    return { ok: true, regex: RE2JS.compile(pattern) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** False, with the problem in `problems`, for a regex_match RE2 refuses; true for any other comparison. */
function regexAccepted(k: { kind: MatchKind; value: string }, at: string, problems: MatchProblem[]): boolean {
  if (k.kind !== 'regex') return true;
  const r = compileRe2(k.value);
  if (!r.ok) {
    problems.push({
      path: `${at}.regex_match`,
      message: `not a regular expression Envoy's RE2 accepts: ${r.error}`,
    });
  }
  return r.ok;
}

/** The comparison a matcher asks for, in Slime's order of precedence when several are given. */
/** What a matcher matches, when the matcher's source takes that kind and a regex is one RE2 accepts. */
function acceptedKind<K extends MatchKind>(
  m: Matcher,
  at: string,
  problems: MatchProblem[],
  takes: (kind: MatchKind) => kind is K,
  needs: string,
): { kind: K; value: string } | undefined {
  const k = kindOf(m);
  if (!k || !takes(k.kind)) {
    problems.push({ path: at, message: needs });
    return undefined;
  }
  return regexAccepted(k, at, problems) ? { kind: k.kind, value: k.value } : undefined;
}

function kindOf(m: Matcher): { kind: MatchKind; value: string } | undefined {
  if (m.regexMatch) return { kind: 'regex', value: m.regexMatch };
  if (m.exactMatch) return { kind: 'exact', value: m.exactMatch };
  if (m.prefixMatch) return { kind: 'prefix', value: m.prefixMatch };
  if (m.suffixMatch) return { kind: 'suffix', value: m.suffixMatch };
  if (m.isExactMatchEmpty) return { kind: 'empty', value: '' };
  if (m.presentMatch) return { kind: 'present', value: '' };
  return undefined;
}

/**
 * Checks and normalises a descriptor's matchers. Problems name the matcher (`match[1].name`) and say what
 * is wrong; Slime dropped such matchers silently, which widened the limit to every request.
 */
export function normalizeMatches(
  matches: readonly Matcher[],
  path: string,
): { matches: NormalizedMatch[]; problems: MatchProblem[] } {
  const out: NormalizedMatch[] = [];
  const problems: MatchProblem[] = [];
  let sourceIpSeen = false;
  matches.forEach((m, i) => {
    const at = `${path}[${i}]`;
    const source = m.matchSource ?? (m.useQueryMatch ? 'QueryMatch' : 'HeadMatch');
    const effective = source === 'HeadMatch' && m.useQueryMatch ? 'QueryMatch' : source;
    switch (effective) {
      case 'SourceIpMatch': {
        if (sourceIpSeen) {
          problems.push({
            path: at,
            message:
              'only one SourceIpMatch per descriptor; list several addresses in one exact_match, separated by commas',
          });
          return;
        }
        sourceIpSeen = true;
        const ips = (m.exactMatch ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (ips.length === 0) {
          problems.push({
            path: `${at}.exact_match`,
            message: 'a SourceIpMatch needs exact_match with one or more IP addresses',
          });
          return;
        }
        const bad = ips.filter((ip) => isIP(ip) === 0);
        if (bad.length > 0) {
          problems.push({ path: `${at}.exact_match`, message: `not an IP address: ${bad.join(', ')}` });
          return;
        }
        if (m.invertMatch) {
          problems.push({
            path: `${at}.invert_match`,
            message: 'a SourceIpMatch cannot be inverted: Envoy keys it by the address itself',
          });
          return;
        }
        out.push({ source: 'sourceIp', ips });
        return;
      }
      case 'JsonBodyMatch':
        problems.push({
          path: `${at}.matchSource`,
          message:
            'JsonBodyMatch needs an Envoy built with body matching (body_value_match); upstream Envoy rejects it',
        });
        return;
      case 'QueryMatch': {
        if (!m.name) {
          problems.push({ path: `${at}.name`, message: 'a query matcher needs the parameter name' });
          return;
        }
        const k = acceptedKind(
          m,
          at,
          problems,
          (kind): kind is Exclude<MatchKind, 'present' | 'empty'> => kind !== 'present' && kind !== 'empty',
          'a query matcher needs exact_match, prefix_match, suffix_match or regex_match',
        );
        if (k) out.push({ source: 'query', name: m.name, ...k, invert: m.invertMatch === true });
        return;
      }
      case 'HeadMatch': {
        if (!m.name) {
          problems.push({ path: `${at}.name`, message: 'a header matcher needs the header name' });
          return;
        }
        if (m.presentMatchSeparate) {
          out.push({
            source: 'header',
            name: m.name,
            kind: 'present',
            value: '',
            invert: false,
            separate: true,
          });
          return;
        }
        const k = acceptedKind(
          m,
          at,
          problems,
          (kind): kind is MatchKind => kind !== undefined,
          'a header matcher needs exact_match, prefix_match, suffix_match, regex_match, present_match: true or is_exact_match_empty: true',
        );
        if (k)
          out.push({ source: 'header', name: m.name, ...k, invert: m.invertMatch === true, separate: false });
        return;
      }
    }
  });
  if (out.some((m) => m.source === 'header' && m.separate) && out.length > 1) {
    problems.push({
      path,
      message: 'present_match_separate cannot be combined with other matchers in one descriptor',
    });
  }
  const queries = out.filter((m): m is QueryMatch => m.source === 'query');
  if (queries.some((q) => q.invert) && !queries.every((q) => q.invert)) {
    problems.push({
      path,
      message:
        "Envoy inverts query matchers all together (expect_match); invert all of a descriptor's query matchers or none",
    });
  }
  return { matches: out, problems };
}

const regex = (value: string): JsonObject => ({ google_re2: {}, regex: value });

/** An Envoy route HeaderMatcher, in the (still accepted) fields Slime writes. */
export function headerMatcher(m: HeaderMatch): JsonObject {
  const out: JsonObject = { name: m.name };
  switch (m.kind) {
    case 'regex':
      out.safe_regex_match = regex(m.value);
      break;
    case 'exact':
      out.exact_match = m.value;
      break;
    case 'prefix':
      out.prefix_match = m.value;
      break;
    case 'suffix':
      out.suffix_match = m.value;
      break;
    case 'empty':
      out.exact_match = '';
      break;
    case 'present':
      out.present_match = true;
      break;
  }
  if (m.invert) out.invert_match = true;
  return out;
}

export function queryParameterMatcher(m: QueryMatch): JsonObject {
  const stringMatch: JsonObject = m.kind === 'regex' ? { safe_regex: regex(m.value) } : { [m.kind]: m.value };
  return { name: m.name, string_match: stringMatch };
}
