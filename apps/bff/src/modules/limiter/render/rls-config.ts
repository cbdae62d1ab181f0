/**
 * Global descriptors as the rate-limit service's configuration: the descriptor tree Slime writes into its
 * ConfigMap for envoyproxy/ratelimit (generic_key → header_match → query_match → remote_address nesting,
 * following the order of the route actions: query, header, then source address).
 */
export const RLS_UNITS = ['SECOND', 'MINUTE', 'HOUR', 'DAY'] as const;
export type RlsUnit = (typeof RLS_UNITS)[number];

export interface RlsDescriptor {
  readonly key: string;
  readonly value?: string;
  readonly rate_limit?: { readonly unit: RlsUnit; readonly requests_per_unit: number };
  readonly shadow_mode?: boolean;
  readonly descriptors?: readonly RlsDescriptor[];
}

/** The rate-limit unit of a fill interval; global limits count per whole second, minute, hour or day. */
export function unitOf(seconds: number, nanos: number): RlsUnit | undefined {
  if (nanos !== 0) return undefined;
  switch (seconds) {
    case 1:
      return 'SECOND';
    case 60:
      return 'MINUTE';
    case 3600:
      return 'HOUR';
    case 86400:
      return 'DAY';
    default:
      return undefined;
  }
}

/**
 * What the tree reads of a rendered global rule. Declared here rather than taking `RenderedRule`, so that
 * this file imports nothing from the renderer (which imports it).
 */
export interface GlobalRule {
  readonly quota: number;
  readonly unit?: RlsUnit;
  readonly shadow: boolean;
  readonly entries: readonly { readonly key: string; readonly value?: string }[];
}

/** The configuration tree for one global rule: its entries, nested, with the limit on the innermost. */
export function globalDescriptorTree(rule: GlobalRule): RlsDescriptor {
  const limit = { unit: rule.unit ?? 'SECOND', requests_per_unit: rule.quota };
  const build = (i: number): RlsDescriptor => {
    const e = rule.entries[i];
    if (!e) throw new Error('a global rule has at least one entry');
    const last = i === rule.entries.length - 1;
    return {
      key: e.key,
      ...(e.value !== undefined ? { value: e.value } : {}),
      ...(last
        ? { rate_limit: limit, ...(rule.shadow ? { shadow_mode: true } : {}) }
        : { descriptors: [build(i + 1)] }),
    };
  };
  return build(0);
}
