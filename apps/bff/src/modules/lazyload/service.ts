/**
 * What the API asks of the lazyload module: the fences, Sidecars and cluster objects as the caches hold
 * them, the calls each workload was seen making, and an in-memory plan of a fence (previews).
 */
import type { ServiceFence } from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import type { ControlPlane } from '../../framework/control-plane';
import type { Plan, Snapshot } from '../../framework/module';
import type { ModuleController } from '../../framework/module-controller';
import { isOwnedBy } from '../../framework/object-writer';
import type { ModuleServices } from '../../framework/registry';
import { NO_OBSERVED_CALLS, type ObservedCall } from '../../sources/observed-calls';
import type { LazyloadModule } from './module';

/** The kinds a proxy's configuration is built from. */
export const PROXY_MODEL_KINDS = [
  'Service',
  'Pod',
  'ServiceEntry',
  'VirtualService',
  'Gateway',
  'DestinationRule',
] as const;

export class LazyloadService {
  constructor(
    private readonly plane: ControlPlane,
    readonly module: LazyloadModule,
  ) {}

  get controller(): ModuleController {
    return this.plane.controller(this.module.name);
  }

  get snapshot(): Snapshot {
    return this.plane.snapshot;
  }

  /** Plans a fence in memory against the caches and the calls observed now; writes nothing. */
  plan(fence: ServiceFence, raw: KubeObject): Plan<null> {
    return this.controller.plan(fence, raw) as Plan<null>;
  }

  /** The Sidecar and EnvoyFilter the fence `namespace/name` owns, as the caches hold them. */
  ownedObjects(namespace: string, name: string): KubeObject[] {
    return this.module.owns.flatMap((kind) =>
      this.plane.snapshot.list(kind, namespace).filter((o) => isOwnedBy(this.module, o, name)),
    );
  }

  /** The calls the workload `namespace/app` was seen making, by destination FQDN. */
  callsFrom(namespace: string, app: string): ReadonlyMap<string, ObservedCall> {
    return (this.module.options.observedCalls ?? NO_OBSERVED_CALLS).callsFrom(namespace, app);
  }

  /** Everything a proxy's configuration is built from, as the caches hold it. */
  proxyModelObjects(): KubeObject[] {
    return PROXY_MODEL_KINDS.flatMap((k) => this.plane.snapshot.list(k));
  }
}

/** The lazyload module's service (throws when the module is not enabled). */
export const lazyloadOf = (modules: ModuleServices): LazyloadService =>
  modules.service<LazyloadService>('lazyload');
