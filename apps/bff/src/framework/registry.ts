/**
 * What a module folder registers: its contract implementation (created with the product's shared parts and
 * its settings), the service its API and the product call, its tRPC router and its CLI verbs. One line in
 * `modules/index.ts` adds a module.
 */
import type { ControlPlane } from './control-plane';
import type { AnyRouter } from '@trpc/server';
import { registerKind, type KindInfo, type KubeObject } from '../cluster/store';
import type { Module } from './module';
import { loadModuleConfig } from './module-config';
import { type ModuleDeclaration, type ModuleSettings } from './module-settings';
import type { MetricSource } from '../sources/metric-source';
import type { ObservedCallSource } from '../sources/observed-calls';
import type { RouteStatusSource } from '../sources/route-status';
import type { MethodTrafficSource } from '../sources/method-traffic';
import type { CliIo } from './cli/io';

export type { ModuleSettings };

/** A module's settings when no module configuration is given: every default. */
export function defaultSettings(declaration: ModuleDeclaration): ModuleSettings {
  return loadModuleConfig(undefined, [declaration]).modules[declaration.name]!;
}

/** The product's parts a module may use when it is created. */
export interface ModuleContext {
  readonly settings: ModuleSettings;
  /** Metric values per SmartLimiter: Prometheus, the embedded mesh or pushed values. */
  readonly metrics: MetricSource;
  /** The product's options a module reads (rate-limit service cluster, metrics-unavailable policy...). */
  readonly options: Readonly<Record<string, unknown>>;
  /** The services each workload calls (lazyload); none when not given. */
  readonly observedCalls?: ObservedCallSource;
  /** What MetaProtocol proxies did with the route configurations served them (metarouter). */
  readonly routeStatus?: RouteStatusSource;
  /** Calls of MetaProtocol services by method (metarouter's dashboard). */
  readonly methodTraffic?: MethodTrafficSource;
}

export interface CliCommand {
  readonly summary: string;
  readonly help: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** The services of the enabled modules, by module name (the running Governor). */
export interface ModuleServices {
  /** A module's service; throws when the module is not enabled. */
  service<S>(name: string): S;
  /** A module's service, or undefined when the module is not enabled. */
  optionalService<S>(name: string): S | undefined;
}

/** A Service for examples: `app`'s pods behind one HTTP port, labelled and named after the app. */
export const exampleService = (namespace: string, app: string, port: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: app, namespace, labels: { app } },
  spec: { selector: { app }, ports: [{ name: 'http', port, targetPort: port }] },
});

/** A working example of a module: what the framework's contract suite runs every module through. */
export interface ModuleExamples {
  /** Cluster objects the example needs (their `status` is written after they are created). */
  readonly cluster: readonly KubeObject[];
  /** An object of the module's kind whose plan wants at least one owned object. */
  readonly object: KubeObject;
  /** The object edited into one whose plan has problems. */
  invalidate(object: KubeObject): KubeObject;
}

export interface ModuleDefinition<Service = unknown> {
  /** As in a SlimeBoot's `spec.module[].name`. */
  readonly name: string;
  /** One line for `governor --help` and the docs. */
  readonly summary: string;
  /** The kind of object the module reconciles (what `governor render` dispatches on). */
  readonly kind: string;
  /** The API coordinates of the kinds the module brings (its CRDs, and cluster kinds no other module reads). */
  readonly kinds?: Readonly<Record<string, KindInfo>>;
  /** Its settings, by Slime's names: what a SlimeBoot entry for it may say. */
  readonly settings: ModuleDeclaration;
  create(ctx: ModuleContext): Module;
  /** The module's service for the API and the product, over the running control plane. */
  service?(plane: ControlPlane, module: Module): Service;
  /** A working example in a namespace, for the contract suite and the docs. */
  examples(namespace: string): ModuleExamples;
  /** The module's own CLI verbs (`governor <verb>`); none: `{}`. */
  readonly commands: Readonly<Record<string, CliCommand>>;
  /** The module's tRPC routers, each under the name it has in the API; none: `{}`. */
  readonly api: Readonly<Record<string, AnyRouter>>;
}

/** The registry: teaches the stores every module's kinds, and hands the list on unchanged (types included). */
export function defineModules<const M extends readonly ModuleDefinition[]>(modules: M): M {
  for (const m of modules) for (const [kind, info] of Object.entries(m.kinds ?? {})) registerKind(kind, info);
  return modules;
}

/** A module's service made from its class, over the module its definition created. */
export const serviceOf =
  <M extends Module, S>(Service: new (plane: ControlPlane, module: M) => S) =>
  (plane: ControlPlane, module: Module): S =>
    new Service(plane, module as M);

/** A module's definition; one without CLI verbs may leave `commands` out. */
export function defineModule<
  const D extends Omit<ModuleDefinition, 'commands'> & Partial<Pick<ModuleDefinition, 'commands'>>,
>(definition: D): D & Pick<ModuleDefinition, 'commands'> {
  return { commands: {}, ...definition };
}
