/**
 * Governor as Envoy's rate-limit service: `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`,
 * from Envoy's own `rls.proto` (as shipped in `@grpc/grpc-js-xds`), answered by the limiter engine with the
 * global descriptors of the SmartLimiters in its own domain, and the rules of other domains (rule files,
 * other modules) looked up as envoyproxy/ratelimit does; one engine counts them all (fixed windows per
 * SECOND/MINUTE/HOUR/DAY, in Redis when one is given so that replicas share them, else in this process).
 */
import {
  RateLimitEngine,
  RedisWindowStore,
  type Decision,
  type GlobalDescriptorRule,
  type WindowStore,
} from '@governor/limiter';
import { envoyService } from '../envoy/grpc-services';
import type { RenderedRule } from '../modules/limiter/render';
import { redactCredentials } from '../redact';
import { GrpcError, GrpcStatus, UnaryGrpcServer, type UnaryServerOptions } from './grpc-unary-server';
import {
  decodeRateLimitRequest,
  DEFAULT_RLS_REQUEST_LIMITS,
  encodeRateLimitResponse,
  RlsLimitError,
  type RlsDescriptor,
  type RlsRequestLimits,
  type RlsDescriptorStatus,
  type RlsRequest,
  type RlsResponse,
} from './rls-codec';
import { globalRulesOf } from '../modules/limiter/engine-rules';
import {
  DOMAIN_RULE_KEY,
  DomainTree,
  engineIdOf,
  engineRuleOf,
  type DomainRule,
  type ResolvedDomainRule,
} from './domain-rules';

const rls = envoyService(
  'envoy/service/ratelimit/v3/rls.proto',
  'envoy.service.ratelimit.v3.RateLimitService',
  Number,
);

/** The client constructor for tests and tools (a real gRPC client from the same proto). */
export const rlsClientConstructor = rls.clientConstructor;

export interface RlsServerOptions {
  /**
   * The SmartLimiters' domain. Default `governor`. Other domains get rules with
   * {@link RlsServer.updateDomainRules}; a request for a domain with none is answered OK with no limit.
   */
  readonly domain?: string;
  /** `redis://host:port[/db]`: counters shared by every replica through Redis. */
  readonly redisUrl?: string;
  /** A store to count in (tests); overrides `redisUrl`. */
  readonly store?: WindowStore;
  /**
   * Called with every decision (the dashboard's decision stream), the request's entries and its domain.
   * A decision of another domain's rule has a rule id that starts with `<domain>:`.
   */
  readonly onDecision?: (
    d: Decision,
    descriptor: readonly { key: string; value: string }[],
    domain: string,
  ) => void;
  /** What one request may ask for (INVALID_ARGUMENT beyond); defaults in `DEFAULT_RLS_REQUEST_LIMITS`. */
  readonly requestLimits?: Partial<RlsRequestLimits>;
  /** The gRPC server's limits (message size, connections, timeouts); defaults in `DEFAULT_UNARY_SERVER_LIMITS`. */
  readonly serverLimits?: UnaryServerOptions;
}

/** Milliseconds as a `google.protobuf.Duration`, rounded to whole nanoseconds (nanos stays below 10^9). */
const ms = (n: number) => {
  const total = Math.round(n * 1e6);
  const seconds = Math.floor(total / 1e9);
  return { seconds, nanos: total - seconds * 1e9 };
};

/** What envoyproxy/ratelimit says remains of an unlimited descriptor. */
const UINT32_MAX = 4_294_967_295;

/** A global rule's decision as a descriptor status (shadow mode answers OK). */
function statusOf(d: Decision, unit: string): RlsDescriptorStatus {
  const limited = d.outcome === 'limited';
  return {
    code: limited ? 'OVER_LIMIT' : 'OK',
    current_limit: { requests_per_unit: d.limit, unit, name: d.ruleId ?? '' },
    limit_remaining: Math.max(0, Math.floor(d.remaining)),
    duration_until_reset: ms(Math.max(0, d.resetMs)),
  };
}

export function redisOptionsFromUrl(url: string): {
  host: string;
  port: number;
  db?: number;
  password?: string;
} {
  const u = new URL(url);
  if (u.protocol !== 'redis:')
    throw new RangeError(`REDIS_URL must be redis://host:port, got ${redactCredentials(url)}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

export class RlsServer {
  readonly engine: RateLimitEngine;
  readonly domain: string;
  private readonly store: WindowStore | null;
  private readonly ownsStore: boolean;
  private readonly server: UnaryGrpcServer;
  private byLimiter = new Map<string, readonly RenderedRule[]>();
  private rulesById = new Map<string, RenderedRule>();
  /** The SmartLimiters' global rules, as the engine has them. */
  private limiterGlobal: readonly GlobalDescriptorRule[] = [];
  /** Other domains' rules by source (a rule file, a module's object), and what they compile to. */
  private bySource = new Map<string, { domain: string; rules: readonly ResolvedDomainRule[] }>();
  private trees = new Map<string, DomainTree>();
  private domainRulesById = new Map<string, ResolvedDomainRule>();
  private domainGlobal: readonly GlobalDescriptorRule[] = [];

  constructor(private readonly options: RlsServerOptions = {}) {
    this.domain = options.domain ?? 'governor';
    if (options.store) {
      this.store = options.store;
      this.ownsStore = false;
    } else if (options.redisUrl) {
      this.store = new RedisWindowStore({
        redis: redisOptionsFromUrl(options.redisUrl),
        keyPrefix: 'governor:rls:',
      });
      this.ownsStore = true;
    } else {
      this.store = null;
      this.ownsStore = false;
    }
    // The decisions go to `onDecision` (the dashboard's stream); the engine's own ring of recent decisions
    // is not read here, and would keep every request's descriptor alive past the young generation.
    this.engine = new RateLimitEngine({ ...(this.store ? { store: this.store } : {}), recentCapacity: 0 });
    const method = rls.definition()['ShouldRateLimit']!;
    const limits: RlsRequestLimits = { ...DEFAULT_RLS_REQUEST_LIMITS, ...options.requestLimits };
    this.server = new UnaryGrpcServer(options.serverLimits).addMethod({
      path: method.path,
      // The messages are read and written by a codec for these two messages alone (rls-codec.ts), not by
      // protobufjs's generic one: no intermediate objects per call.
      decode: (message: Buffer) => {
        try {
          return decodeRateLimitRequest(message, limits);
        } catch (error) {
          if (error instanceof RlsLimitError) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, error.message);
          throw error;
        }
      },
      encode: encodeRateLimitResponse,
      handle: (request: RlsRequest) => this.shouldRateLimit(request),
    });
  }

  /**
   * The rendered rules of one SmartLimiter (`namespace/name`, or any key of the caller's), or null when it
   * is gone. The copies of one SmartLimiter in several clusters render the same descriptor ids: an id is
   * one rule and one counter whichever cluster's sidecars ask, taken from the first key in order. A rule
   * set the engine refuses changes nothing, so one bad limiter does not hold up the others' updates.
   */
  updateLimiter(key: string, rules: readonly RenderedRule[] | null): void {
    const byLimiter = new Map(this.byLimiter);
    if (rules === null) byLimiter.delete(key);
    else byLimiter.set(key, rules);
    const rulesById = new Map<string, RenderedRule>();
    for (const k of [...byLimiter.keys()].sort())
      for (const r of byLimiter.get(k) ?? [])
        if (r.strategy === 'global' && !rulesById.has(r.id)) rulesById.set(r.id, r);
    const global = globalRulesOf([...rulesById.values()]);
    this.engine.applyRules({
      global: this.domainGlobal.length === 0 ? global : [...global, ...this.domainGlobal],
    });
    this.byLimiter = byLimiter;
    this.rulesById = rulesById;
    this.limiterGlobal = global;
  }

  /**
   * The rules `source` (a rule file, a module's object: any stable name) sets for `domain`, replacing what
   * it set before (in that domain or another); null or none removes them, whatever `domain` says. Several
   * sources may share a domain. Rule ids are prefixed with `<domain>:` unless they start with it. Throws, and changes nothing,
   * when a rule is invalid, or its descriptor is one another rule of the domain already has, or `domain`
   * is the SmartLimiters' own (see {@link updateLimiter}).
   */
  updateDomainRules(source: string, domain: string, rules: readonly DomainRule[] | null): void {
    const removing = rules === null || rules.length === 0;
    // Removing needs no valid domain: a source's rules go wherever they were.
    if (!removing && domain === '') throw new RangeError(`${source}: a rate-limit domain cannot be empty`);
    if (!removing && domain === this.domain)
      throw new RangeError(
        `${source}: domain ${domain} is the SmartLimiters' own; give their rules another domain`,
      );
    const bySource = new Map(this.bySource);
    if (removing) bySource.delete(source);
    else
      bySource.set(source, {
        domain,
        rules: rules.map((rule) => ({
          domain,
          source,
          engineId: engineIdOf(domain, rule.id),
          rule,
          unit: rule.unlimited === true ? null : rule.unit,
        })),
      });
    const byDomain = new Map<string, ResolvedDomainRule[]>();
    for (const key of [...bySource.keys()].sort()) {
      const entry = bySource.get(key)!;
      let list = byDomain.get(entry.domain);
      if (list === undefined) byDomain.set(entry.domain, (list = []));
      list.push(...entry.rules);
    }
    const trees = new Map([...byDomain].map(([d, list]) => [d, new DomainTree(list)]));
    const resolved = [...byDomain.values()].flat();
    const domainGlobal = resolved.flatMap((r) => engineRuleOf(r) ?? []);
    // The engine validates and swaps atomically: on an error nothing here changes either.
    this.engine.applyRules({ global: [...this.limiterGlobal, ...domainGlobal] });
    this.bySource = bySource;
    this.trees = trees;
    this.domainRulesById = new Map(resolved.map((r) => [r.engineId, r]));
    this.domainGlobal = domainGlobal;
  }

  /** A rule of another domain by its id in decisions (`production:method=sayHello`). */
  domainRule(id: string): ResolvedDomainRule | undefined {
    return this.domainRulesById.get(id);
  }

  /** The domains served: the SmartLimiters', then every other one with rules, with their rule counts. */
  domains(): { domain: string; rules: number }[] {
    return [
      { domain: this.domain, rules: this.limiterGlobal.length },
      ...[...this.trees]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([domain, t]) => ({ domain, rules: t.rules.length })),
    ];
  }

  /** The rendered global rule with this descriptor id. */
  ruleById(id: string): RenderedRule | undefined {
    return this.rulesById.get(id);
  }

  /** Resolves once the shared store is connected; a local store is always ready. */
  async storeReady(timeoutMs: number): Promise<void> {
    if (this.store instanceof RedisWindowStore) await this.store.ready(timeoutMs);
  }

  /** The shared store's state, for health reports. */
  health(): { store: 'memory' | 'redis'; connected: boolean; lastError: string | null } {
    if (!this.store || !(this.store instanceof RedisWindowStore))
      return { store: 'memory', connected: true, lastError: null };
    const h = this.store.health();
    return { store: 'redis', connected: h.connected, lastError: h.lastError };
  }

  /** Answers one request as envoyproxy/ratelimit does: every descriptor counted, over limit if any is. */
  shouldRateLimit(request: RlsRequest): Promise<RlsResponse> {
    const hits = request.hits_addend > 0 ? request.hits_addend : 1;
    const descriptors = request.descriptors;
    if (request.domain !== this.domain) return this.shouldRateLimitIn(request, hits);
    // One descriptor is the usual request: no array of promises for it.
    if (descriptors.length === 1)
      return this.decideDescriptor(descriptors[0]!, hits).then((d) => this.answer([d]));
    return Promise.all(descriptors.map((d) => this.decideDescriptor(d, hits))).then((ds) => this.answer(ds));
  }

  private answer(decisions: readonly Decision[]): RlsResponse {
    let over = false;
    const statuses = decisions.map((d): RlsDescriptorStatus => {
      if (d.ruleId === null || d.ruleKind !== 'global') return { code: 'OK' };
      const status = statusOf(d, this.rulesById.get(d.ruleId)?.unit ?? 'SECOND');
      if (status.code === 'OVER_LIMIT') over = true;
      return status;
    });
    return { overall_code: over ? 'OVER_LIMIT' : 'OK', statuses, response_headers_to_add: [] };
  }

  /** One descriptor of a request, counted and reported to the decision stream. */
  private decideDescriptor(descriptor: RlsDescriptor, hits: number): Promise<Decision> {
    // The codec made these entries for this request alone: the engine and the stream may keep them.
    const entries = descriptor.entries;
    return this.engine.decideAsync({ descriptors: [entries], hits }).then((decision) => {
      this.options.onDecision?.(decision, entries, this.domain);
      return decision;
    });
  }

  /**
   * A request for another domain, as envoyproxy/ratelimit answers it: each descriptor's rule found by its
   * lookup; a rule another matched rule `replaces` is not counted; an unlimited one is OK without a count.
   */
  private shouldRateLimitIn(request: RlsRequest, hits: number): Promise<RlsResponse> {
    const { domain, descriptors } = request;
    const tree = this.trees.get(domain);
    if (tree === undefined)
      return Promise.resolve({
        overall_code: 'OK',
        statuses: descriptors.map(() => ({ code: 'OK' })),
        response_headers_to_add: [],
      });
    const matched = descriptors.map((d) => tree.lookup(d.entries));
    let replaced: Set<string> | null = null;
    for (const m of matched) for (const name of m?.rule.replaces ?? []) (replaced ??= new Set()).add(name);
    const statuses = descriptors.map((descriptor, i): RlsDescriptorStatus | Promise<RlsDescriptorStatus> => {
      const m = matched[i];
      if (m === undefined) return { code: 'OK' };
      if (m.unit === null) return { code: 'OK', limit_remaining: UINT32_MAX };
      if (replaced !== null && m.rule.name !== undefined && replaced.has(m.rule.name)) return { code: 'OK' };
      const unit = m.unit;
      const entries = descriptor.entries;
      return this.engine
        .decideAsync({ descriptors: [[{ key: DOMAIN_RULE_KEY, value: m.engineId }, ...entries]], hits })
        .then((decision) => {
          this.options.onDecision?.(decision, entries, domain);
          return decision.ruleId === null ? { code: 'OK' } : statusOf(decision, unit);
        });
    });
    return Promise.all(statuses).then((all) => ({
      overall_code: all.some((s) => s.code === 'OVER_LIMIT') ? 'OVER_LIMIT' : 'OK',
      statuses: all,
      response_headers_to_add: [],
    }));
  }

  /** Listens on `host:port` (0: a free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return this.server.listen(host, port);
  }

  /** Stops listening, lets the calls in progress finish, and closes its Redis connection. */
  async close(): Promise<void> {
    await this.server.close();
    if (this.ownsStore && this.store && 'close' in this.store) await (this.store as RedisWindowStore).close();
  }
}
