/**
 * Slime's `domainAliases`: other names of a domain, from an RE2 pattern with named groups and templates
 * such as `$service.$namespace.svc.cluster.local` (Go's regexp template expansion).
 */
export interface DomainAliasRule {
  readonly pattern: string;
  readonly templates: readonly string[];
}

export interface CompiledAliases {
  readonly rules: readonly { readonly re: RegExp; readonly templates: readonly string[] }[];
  /** Rules that do not compile or have no template: Slime drops all aliases then; so does Governor. */
  readonly problems: readonly string[];
}

export function compileAliases(rules: readonly DomainAliasRule[]): CompiledAliases {
  const compiled: { re: RegExp; templates: readonly string[] }[] = [];
  const problems: string[] = [];
  for (const r of rules) {
    if (!r.templates?.length) {
      problems.push(`domainAliases pattern ${r.pattern}: no templates`);
      continue;
    }
    try {
      // Go writes named groups (?P<name>...); JavaScript (?<name>...).
      compiled.push({ re: new RegExp(r.pattern.replace(/\(\?P</g, '(?<'), 'g'), templates: r.templates });
    } catch (e) {
      problems.push(`domainAliases pattern ${r.pattern}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { rules: problems.length > 0 ? [] : compiled, problems };
}

function expand(template: string, match: RegExpExecArray): string {
  return template.replace(
    /\$(\{(\w+)\}|(\w+))/g,
    (_, _b, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
      return value ?? '';
    },
  );
}

/** The host and its aliases; a pattern that matches more than once gives none (as Slime). */
export function withAliases(host: string, aliases: CompiledAliases): string[] {
  const out = [host];
  for (const { re, templates } of aliases.rules) {
    const matches = [...host.matchAll(re)];
    if (matches.length !== 1) continue;
    for (const t of templates) {
      const d = expand(t, matches[0] as RegExpExecArray);
      if (d !== '') out.push(d);
    }
  }
  return out;
}
