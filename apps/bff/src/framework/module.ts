/**
 * The module contract. A module says which kind it reconciles (its CRD), which cluster kinds it reads and
 * which it owns, and plans: from one object, the cluster as the informers see it, the metric values and
 * the time, it computes the owned objects that should exist, the object's status and the rules Governor's
 * engine enforces. The framework does everything else, once for every module: informers, work queue,
 * diff against what exists, server-side apply with owner references (marks in other namespaces), status
 * writes, Events, leader election, drift repair, garbage collection, metrics. See docs/architecture.md.
 */
import type { z } from 'zod';
import type { ParseResult } from '@governor/crd-types';
import type { Kind, KubeObject } from '../cluster/store';
import {
  NO_METRICS,
  type MetricInput,
  type MetricSourceHealth,
  type MetricValues,
} from '../sources/metric-source';

/** The cluster as the informers hold it, read-only. */
export interface Snapshot {
  list(kind: Kind, namespace?: string): readonly KubeObject[];
  get(kind: Kind, namespace: string, name: string): KubeObject | undefined;
  /** The objects of a kind that pass `schema`, each version parsed once. */
  parsed<T>(kind: Kind, schema: z.ZodType<T>, namespace?: string): T[];
}

export { NO_METRICS, type MetricInput, type MetricSourceHealth, type MetricValues };

export interface PlanProblem {
  readonly path?: string;
  readonly message: string;
}

export interface PlanInput<T> {
  /** The object planned for, parsed. */
  readonly object: T;
  readonly raw: KubeObject;
  readonly snapshot: Snapshot;
  readonly metrics: MetricInput;
  readonly now: Date;
}

export interface Plan<Rules> {
  /**
   * The owned objects that should exist, each in the planned object's namespace unless its
   * `metadata.namespace` names another. In the owner's namespace the framework sets the controller owner
   * reference. In another (an EnvoyFilter without a workload selector acts only in its own namespace, or
   * in the mesh's root namespace on every proxy) no owner reference can point back, so the framework marks
   * the object instead: labels `governor.io/owner-kind`, `governor.io/owner-namespace` and
   * `governor.io/owner-name-hash` (the name's SHA-256, 40 hex digits: a name can be longer than a label
   * value may), annotations `governor.io/owner-name` and `governor.io/owner-uid`. Those keys are the
   * framework's: a module's own values for them are replaced. Either way the framework finds, repairs
   * and collects the objects, and deletes them with their owner (the cluster's garbage collector does not
   * for marked ones). It never writes over an object in another namespace that is not already its owner's:
   * such a plan writes nothing and the attempt fails, retried with backoff, until that object goes. The
   * informers must see that namespace: under a control plane limited to one namespace, a plan wanting an
   * object elsewhere fails the same way.
   */
  readonly desired: readonly KubeObject[];
  /** The object's whole status, conditions included. */
  readonly status: Record<string, unknown>;
  /** Any problem keeps the object's last good state everywhere (cluster and engine); the status says why. */
  readonly problems: readonly PlanProblem[];
  /** Remarks that change nothing (e.g. a gateway limiter without a workload selector). */
  readonly warnings?: readonly string[];
  /** What Governor's engine enforces for the object; null when the module feeds no engine. */
  readonly engine: Rules | null;
  /**
   * Keep the last good state without a problem of the object's own (e.g. its metric source is down and
   * the configuration says to keep the last limits). The status is still written.
   */
  readonly hold?: boolean;
}

export interface ModuleEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly PlanProblem[] };

/** A custom resource's parse as a module answers it: the value, or the issues as problems. */
export function parsedOf<T>(r: ParseResult<T>): Parsed<T> {
  return r.ok
    ? { ok: true, value: r.value }
    : { ok: false, problems: r.issues.map((i) => ({ path: i.path, message: i.message })) };
}

/**
 * A module for a kind whose status is someone else's (a Service's is Kubernetes'): it writes no status,
 * and an object that does not parse gets none.
 */
export function statuslessModule<T, Rules>(
  module: Omit<Module<T, Rules>, 'writesStatus' | 'invalidStatus'>,
): Module<T, Rules> {
  return { ...module, writesStatus: false, invalidStatus: () => ({}) };
}

export interface Module<T = unknown, Rules = unknown> {
  /** The module's name, as in a SlimeBoot's `spec.module[].name` (e.g. `limiter`). */
  readonly name: string;
  /** The kind it reconciles, one object at a time. */
  readonly kind: Kind;
  readonly apiVersion: string;
  /** The cluster kinds its plan reads. */
  readonly watches: readonly Kind[];
  /**
   * The kinds of the objects it writes; it owns each through a controller owner reference, or through the
   * framework's marks in other namespaces (see {@link Plan.desired}).
   */
  readonly owns: readonly Kind[];
  /**
   * Kinds it reads when the cluster serves them (Istio's VirtualService and Gateway, for explanations):
   * their informers are not waited for at start, so a cluster without those CRDs still runs the module,
   * and a change to them re-plans nothing.
   */
  readonly reads?: readonly Kind[];
  /**
   * Label keys the module sets on owned objects when it wants them: one its desired object lacks must be
   * absent from the cluster's copy too (other labels others add are left alone).
   */
  readonly ownedLabelKeys?: readonly string[];
  /**
   * False: the framework never writes the status of the module's objects, as for a kind whose status
   * belongs to someone else (a Service's is Kubernetes'); the plan's `status` is then unused. Default true.
   */
  readonly writesStatus?: boolean;
  /**
   * Controllers that run with this module, enabled and configured with it, each with its own name, kind
   * and queue (lazyload's fences for Services). The control plane and `governor render` run them too.
   */
  readonly companions?: readonly Module[];
  parse(raw: KubeObject): Parsed<T>;
  /** The status of an object that does not parse (its owned objects stay as they are). */
  invalidStatus(
    raw: KubeObject,
    problems: readonly PlanProblem[],
    ownedCount: number,
    now: Date,
  ): Record<string, unknown>;
  /** The metric values for an object; read when it is planned. Modules without metrics leave it out. */
  metrics?(object: T, snapshot: Snapshot): MetricInput;
  /** Pure: the same input gives the same plan. */
  plan(input: PlanInput<T>): Plan<Rules>;
  /** Events for what changed between the last status and a new plan. */
  events?(previousStatus: Record<string, unknown> | undefined, plan: Plan<Rules>): ModuleEvent[];
  /**
   * The objects (`namespace/name`) a change of a watched object concerns. Default: every object of the
   * module's kind in the changed object's namespace.
   */
  affectedBy?(change: KubeObject, snapshot: Snapshot): readonly string[] | undefined;
}

/** A module's rules for the engine, as the framework hands them on: null when the object is gone. */
export type EngineListener = (module: string, key: string, rules: unknown) => void;

/** A module and its companions, as the control plane runs them. */
export const withCompanions = (modules: readonly Module[]): Module[] =>
  modules.flatMap((m) => [m, ...withCompanions(m.companions ?? [])]);
