/**
 * What rendering produces per descriptor: the rule Envoy (and the engine) enforce, and where it applies.
 */
import type { PatchContext, Strategy } from '@governor/crd-types';
import type { NormalizedMatch } from './match';
import type { RlsUnit } from './rls-config';

/** Where a rule applies in Envoy. */
export interface RoutePlacement {
  readonly context: PatchContext;
  /** The virtual host name; empty for "any vhost" (inbound without a port). */
  readonly vhost: string;
  /** The route name; undefined when the whole virtual host is limited. */
  readonly route?: string;
}

/** A descriptor whose condition holds, with its quota evaluated: what Envoy (and the engine) enforce. */
export interface RenderedRule {
  readonly namespace: string;
  readonly limiter: string;
  readonly set: string;
  /** Index of the descriptor in `spec.sets.<set>.descriptor`. */
  readonly index: number;
  /** The descriptor value Envoy sees (`Service[reviews.default]-Id[123]`). */
  readonly id: string;
  readonly strategy: Strategy;
  /** Requests per fill interval: per pod for single and average, for all pods together for global. */
  readonly quota: number;
  /** The quota expression's exact value before rounding (and before average's division). */
  readonly exactQuota: string;
  readonly fillInterval: { readonly seconds: number; readonly nanos: number };
  readonly fillIntervalMs: number;
  readonly unit?: RlsUnit;
  readonly shadow: boolean;
  readonly failMode: 'open' | 'closed';
  readonly placements: readonly RoutePlacement[];
  readonly workloadSelector: Readonly<Record<string, string>>;
  /** The descriptor entries Envoy produces for a request this rule counts (no value: one per distinct value). */
  readonly entries: readonly { readonly key: string; readonly value?: string }[];
  readonly match: readonly NormalizedMatch[];
  readonly headersToAdd: readonly { readonly key: string; readonly value: string }[];
}

/** A rendered rule with what its Envoy route actions need beyond it. */
export interface ActiveDescriptor {
  readonly rule: RenderedRule;
  readonly custom?: { key: string; value: string };
  readonly requestHeaderKey?: string;
}
