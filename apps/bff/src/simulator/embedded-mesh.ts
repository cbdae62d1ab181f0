/**
 * The embedded demo mesh as the BFF runs it: the traffic simulator fed with the cluster as the informers
 * see it and with the limits the controller renders, and serving as the metric source of the SmartLimiters
 * (the values the default Prometheus queries give, read from the simulator's own state).
 */
import { z } from 'zod';
import type { SmartLimiter } from '@governor/crd-types';
import { isKnownKind } from '../cluster/store';
import type { Snapshot } from '../framework/module';
import { metricSetsOf, type ClusterContext, type RenderedRule } from '../modules/limiter/render';
import type { MetricSource } from '../sources/metric-source';
import type { MethodTrafficSource } from '../sources/method-traffic';
import { loadProblems, type LoadProfile } from './load';
import { METAPROTOCOL_KINDS } from './metaprotocol';
import { Simulator, type SimulatorOptions } from './simulator';
import { MAX_SERVICE_RPS } from './traffic';

/** The metric names the simulated mesh provides per set; a set without traffic reads 0. */
export const SIMULATED_METRICS = ['cpu.percent', 'qps', 'limited_qps', 'rt99', 'cpu.sum', 'cpu.max'] as const;

const rate = z
  .number()
  .finite()
  .min(0)
  .max(MAX_SERVICE_RPS, `at most ${MAX_SERVICE_RPS} requests per second (the simulator's cap per Service)`);
const millis = z
  .number()
  .finite()
  .positive()
  .max(7 * 86_400_000);
export const loadProfileSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('steady'), rps: rate }),
  z.strictObject({
    kind: z.literal('wave'),
    minRps: rate,
    maxRps: rate,
    periodMs: millis,
    phaseMs: z.number().finite().optional(),
  }),
  z.strictObject({
    kind: z.literal('spikes'),
    baseRps: rate,
    spikeRps: rate,
    everyMs: millis,
    durationMs: millis,
  }),
]);

export const loadChangeSchema = z.strictObject({
  /** `name` (in `default`) or `namespace/name`. */
  service: z
    .string()
    .max(317)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
      'expected name or namespace/name',
    ),
  profile: loadProfileSchema,
});

export interface EmbeddedMeshOptions {
  /** The Services, Pods, DestinationRules and ServiceEntries of a namespace (all without one), as they are now. */
  readonly context: (namespace?: string) => ClusterContext;
  /** Calls back when Services or Pods change; returns an unsubscribe. */
  readonly onClusterChange: (handler: () => void) => () => void;
  readonly simulator?: Omit<SimulatorOptions, 'context' | 'rules'>;
  /**
   * The cluster as the controllers see it, for the Istio `Sidecar`s that fence workloads (none while no
   * module registers the kind), and for the `EnvoyFilter`s whose fault filter aborts or delays requests.
   * Also for the MetaProtocol services, their MetaRouters and the ApplicationProtocols (while the kinds
   * are registered). Unused for what `simulator.sidecars`, `simulator.envoyFilters` or
   * `simulator.metaProtocol` gives.
   */
  readonly snapshot?: () => Pick<Snapshot, 'list'>;
}

export class EmbeddedMesh {
  readonly simulator: Simulator;
  private readonly rulesByLimiter = new Map<string, readonly RenderedRule[]>();
  private readonly unsubscribe: () => void;
  private contextTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: EmbeddedMeshOptions) {
    const { snapshot } = options;
    const sidecars =
      options.simulator?.sidecars ??
      (snapshot ? () => (isKnownKind('Sidecar') ? snapshot().list('Sidecar') : []) : undefined);
    const envoyFilters =
      options.simulator?.envoyFilters ??
      (snapshot ? () => (isKnownKind('EnvoyFilter') ? snapshot().list('EnvoyFilter') : []) : undefined);
    const metaProtocol =
      options.simulator?.metaProtocol ??
      (snapshot && isKnownKind('MetaRouter')
        ? () => METAPROTOCOL_KINDS.flatMap((k) => (isKnownKind(k) ? snapshot().list(k) : []))
        : undefined);
    this.simulator = new Simulator({
      ...options.simulator,
      ...(sidecars ? { sidecars } : {}),
      ...(envoyFilters ? { envoyFilters } : {}),
      ...(metaProtocol ? { metaProtocol } : {}),
      context: options.context(),
    });
    // Pods come and go in bursts (a rollout): apply the mesh's shape once the burst settles.
    this.unsubscribe = options.onClusterChange(() => {
      if (this.contextTimer) return;
      this.contextTimer = setTimeout(() => {
        this.contextTimer = undefined;
        this.simulator.setContext(this.options.context());
      }, 50);
      this.contextTimer.unref();
    });
  }

  start(): void {
    this.simulator.start();
  }

  stop(): void {
    this.simulator.stop();
    this.unsubscribe();
    if (this.contextTimer) clearTimeout(this.contextTimer);
    this.contextTimer = undefined;
  }

  /** The limiter's rules for one SmartLimiter (null when it is gone): the mesh's sidecars enforce them at once. */
  readonly onRules = (key: string, rules: readonly RenderedRule[] | null): void => {
    if (rules === null) this.rulesByLimiter.delete(key);
    else this.rulesByLimiter.set(key, rules);
    this.simulator.updateRules(
      [...this.rulesByLimiter.keys()].sort().flatMap((k) => this.rulesByLimiter.get(k) ?? []),
    );
  };

  /** The simulated mesh as a metric source: `<set>.<name>` for every set of the SmartLimiter. */
  readonly metrics: MetricSource = {
    metricsFor: (limiter: SmartLimiter) => {
      const values: Record<string, number> = {};
      const context = this.options.context(limiter.metadata.namespace);
      for (const set of metricSetsOf(limiter, context)) {
        const measured = this.simulator.metricValues(limiter.metadata.namespace, set.pods);
        for (const name of SIMULATED_METRICS) {
          const v = measured[name];
          // Rounded so that the status shows readable numbers; precise enough for any threshold.
          values[`${set.name}.${name}`] = v === undefined ? 0 : Math.round(v * 1000) / 1000;
        }
      }
      return { values, health: { available: true } };
    },
  };

  /** The simulated MetaProtocol calls per method, for the dashboard. */
  get methodTraffic(): MethodTrafficSource {
    return this.simulator.methodTraffic;
  }

  /** `POST /api/simulator/load`: changes a Service's load from the next tick on. */
  changeLoad(body: unknown): { status: 200 | 400; body: unknown } {
    const r = loadChangeSchema.safeParse(body);
    if (!r.success) {
      const issues = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return { status: 400, body: { error: 'invalid', message: issues.join('; '), issues } };
    }
    const profile = r.data.profile as LoadProfile;
    const problems = [...loadProblems(profile), ...this.simulator.loadCapProblems(r.data.service, profile)];
    if (problems.length > 0)
      return { status: 400, body: { error: 'invalid', message: problems.join('; '), issues: problems } };
    this.simulator.setLoad(r.data.service, profile);
    return { status: 200, body: { service: r.data.service, profile } };
  }
}
