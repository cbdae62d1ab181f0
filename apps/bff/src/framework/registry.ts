/**
 * What a module folder registers: its contract implementation (created with the product's shared parts and
 * its settings), the service its API and the product call, its tRPC router and its CLI verbs. One line in
 * `modules/index.ts` adds a module.
 */
import type { ControlPlane } from './control-plane';
import type { Module } from './module';
import type { MetricSource } from '../sources/metric-source';

/** A module's settings, as the module configuration (SlimeBoot `spec.module[]`) gives them. */
export interface ModuleSettings {
  readonly general: Readonly<Record<string, unknown>>;
  readonly global: Readonly<Record<string, unknown>>;
  readonly metric: Readonly<Record<string, unknown>>;
}

export const NO_SETTINGS: ModuleSettings = { general: {}, global: {}, metric: {} };

/** The product's parts a module may use when it is created. */
export interface ModuleContext {
  readonly settings: ModuleSettings;
  /** Metric values per SmartLimiter: Prometheus, the embedded mesh or pushed values. */
  readonly metrics: MetricSource;
  /** The product's options a module reads (rate-limit service cluster, metrics-unavailable policy...). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface CliCommand {
  readonly summary: string;
  readonly help: string;
  run(args: string[], io: import('../cli/io').CliIo): Promise<number>;
}

export interface ModuleDefinition<Service = unknown> {
  /** As in a SlimeBoot's `spec.module[].name`. */
  readonly name: string;
  /** One line for `governor --help` and the docs. */
  readonly summary: string;
  /** The kind of object the module reconciles (what `governor render` dispatches on). */
  readonly kind: string;
  create(ctx: ModuleContext): Module;
  /** The module's service for the API and the product, over the running control plane. */
  service?(plane: ControlPlane, module: Module): Service;
  /** The module's own CLI verbs. */
  readonly commands?: Readonly<Record<string, CliCommand>>;
}
