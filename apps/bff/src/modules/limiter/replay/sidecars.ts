/**
 * The rendered limits as the sidecars of a mesh enforce them, on one clock: `single` and `average` rules
 * limit per pod (each pod's Envoy has its own buckets, one LocalRateLimit per route), `global` rules count
 * across pods (one rate-limit service). Shared by the what-if replay and the simulated mesh.
 */
import {
  PERMISSIVE_DEFAULT_BUCKET,
  RateLimitEngine,
  type Clock,
  type Decision,
  type Descriptor,
  type GlobalDescriptorRule,
  type RuleSetInput,
} from '@governor/limiter';
import type { Pod } from '@governor/crd-types';
import { labelsMatch, namespaceOf, type RenderedRule } from '../render';
import { descriptorFor, type ReplayRequest } from './request-descriptors';
import { globalRulesOf, localRule } from '../engine-rules';

/** The rules of one Envoy route: a pod's inbound vhost for a port. */
export function appliesTo(rule: RenderedRule, pod: Pod, port: number): boolean {
  if (rule.namespace !== namespaceOf(pod) || !labelsMatch(rule.workloadSelector, pod.metadata.labels))
    return false;
  return rule.placements.some(
    (p) =>
      p.context === 'SIDECAR_INBOUND' &&
      p.route === 'default' &&
      (p.vhost === '' || p.vhost === `inbound|http|${port}`),
  );
}

/**
 * What Envoy does with the rendered config of one route: its local rules, the permissive default bucket,
 * charged on every request (always_consume_default_token_bucket defaults to true).
 */
function sidecarRuleSet(localRules: readonly RenderedRule[]): RuleSetInput {
  return {
    local: localRules.map(localRule),
    defaultBucket: PERMISSIVE_DEFAULT_BUCKET,
    alwaysConsumeDefault: true,
  };
}

interface Sidecar {
  pod: Pod;
  readonly port: number;
  readonly engine: RateLimitEngine;
  rules: RenderedRule[];
  global: RenderedRule[];
}

export const sidecarKey = (pod: Pod, port: number): string =>
  `${namespaceOf(pod)}/${pod.metadata.name}|${port}`;

/**
 * One shared rate-limit service for the global rules and one local rate limiter per pod and port, created
 * on a pod's first request. {@link update} swaps the rules in place: a rule whose id is unchanged keeps
 * its tokens and window counts.
 */
export class SidecarLimiters {
  private readonly clock: Clock;
  private readonly globalEngine: RateLimitEngine;
  private readonly sidecars = new Map<string, Sidecar>();
  private rules: readonly RenderedRule[];
  private byId: Map<string, RenderedRule>;

  constructor(options: { clock: Clock; rules: readonly RenderedRule[] }) {
    this.clock = options.clock;
    this.rules = options.rules;
    this.byId = new Map(options.rules.map((r) => [r.id, r]));
    this.globalEngine = new RateLimitEngine({
      clock: this.clock,
      rules: { global: this.globalRules() },
      recentCapacity: 0,
    });
  }

  /** The rendered rule with that id (a decision's `ruleId`), if any: the default bucket has none. */
  rule(id: string | null): RenderedRule | undefined {
    return id === null ? undefined : this.byId.get(id);
  }

  /**
   * New rendered rules (and, optionally, the pods as they are now: sidecars of pods no longer listed are
   * dropped, the others see their current labels).
   */
  update(rules: readonly RenderedRule[], pods?: readonly Pod[]): void {
    this.rules = rules;
    this.byId = new Map(rules.map((r) => [r.id, r]));
    this.globalEngine.applyRules({ global: this.globalRules() });
    const current = pods ? new Map(pods.map((p) => [sidecarKey(p, 0), p])) : undefined;
    for (const [key, sidecar] of this.sidecars) {
      if (current) {
        const pod = current.get(sidecarKey(sidecar.pod, 0));
        if (!pod) {
          this.sidecars.delete(key);
          continue;
        }
        sidecar.pod = pod;
      }
      this.assign(sidecar);
      sidecar.engine.applyRules(sidecarRuleSet(sidecar.rules));
    }
  }

  /**
   * Decides a request on a pod's inbound port at the clock's time. The ratelimit filter (global) sits
   * before local_ratelimit in the chain: it decides first, and a request it limits never reaches the local
   * buckets. The result is the decision of the rule that decided (global when it limited, or when only the
   * default bucket applied locally); it is reused by the next call.
   */
  decide(pod: Pod, port: number, request: ReplayRequest, hits = 1): Decision {
    const sidecar = this.sidecarFor(pod, port);
    let globalDecided: Decision | null = null;
    const globalDescriptors = sidecar.global
      .map((r) => descriptorFor(r, request))
      .filter((d): d is Descriptor => d !== null);
    if (globalDescriptors.length > 0) {
      globalDecided = this.globalEngine.decide({ descriptors: globalDescriptors, hits });
      if (!globalDecided.allowed) return globalDecided;
    }
    const localDescriptors = sidecar.rules
      .map((r) => descriptorFor(r, request))
      .filter((d): d is Descriptor => d !== null);
    const local = sidecar.engine.decide({ descriptors: localDescriptors, hits });
    return this.rule(local.ruleId) === undefined && globalDecided !== null ? globalDecided : local;
  }

  private globalRules(): GlobalDescriptorRule[] {
    return globalRulesOf(this.rules);
  }

  private assign(sidecar: Sidecar): void {
    const applicable = this.rules.filter((r) => appliesTo(r, sidecar.pod, sidecar.port));
    sidecar.rules = applicable.filter((r) => r.strategy !== 'global');
    sidecar.global = applicable.filter((r) => r.strategy === 'global');
  }

  private sidecarFor(pod: Pod, port: number): Sidecar {
    const key = sidecarKey(pod, port);
    let sidecar = this.sidecars.get(key);
    if (!sidecar) {
      const partial: Sidecar = {
        pod,
        port,
        rules: [],
        global: [],
        engine: new RateLimitEngine({ clock: this.clock, charging: 'envoy', recentCapacity: 0 }),
      };
      this.assign(partial);
      partial.engine.applyRules(sidecarRuleSet(partial.rules));
      sidecar = partial;
      this.sidecars.set(key, sidecar);
    }
    return sidecar;
  }
}
