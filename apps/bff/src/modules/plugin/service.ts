/**
 * What the API asks of the plugin module: its objects and EnvoyFilters as the caches hold them, the
 * cluster objects a proxy's configuration is built from, and in-memory plans (validation, previews).
 */
import type { ClusterStore, KubeObject } from '../../cluster/store';
import type { ControlPlane } from '../../framework/control-plane';
import type { Parsed, Plan, Snapshot } from '../../framework/module';
import type { ModuleController } from '../../framework/module-controller';
import type { ModuleServices } from '../../framework/registry';
import { ENVOYPLUGIN_MODULE_NAME, type PluginModule } from './module';

export const PLUGIN_KINDS = ['PluginManager', 'EnvoyPlugin'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** The kinds a proxy's listeners are built from, and the EnvoyFilters patching them. */
export const CHAIN_INPUT_KINDS = ['Service', 'Pod', 'ServiceEntry', 'VirtualService', 'Gateway'] as const;

export class PluginService {
  constructor(
    private readonly plane: ControlPlane,
    readonly module: PluginModule,
  ) {}

  get snapshot(): Snapshot {
    return this.plane.snapshot;
  }

  controller(kind: PluginKind): ModuleController {
    return this.plane.controller(kind === 'PluginManager' ? this.module.name : ENVOYPLUGIN_MODULE_NAME);
  }

  parse(kind: PluginKind, raw: KubeObject): Parsed<unknown> {
    const m = kind === 'PluginManager' ? this.module : this.module.companions![0]!;
    return m.parse(raw) as Parsed<unknown>;
  }

  /** Plans an object in memory against the caches; writes nothing. */
  plan(kind: PluginKind, object: unknown, raw: KubeObject): Plan<null> {
    return this.controller(kind).plan(object, raw) as Plan<null>;
  }

  list(kind: PluginKind, namespace?: string): readonly KubeObject[] {
    return this.plane.snapshot.list(kind, namespace);
  }

  /** The EnvoyFilter the object `kind namespace/name` owns, as the caches hold it. */
  ownedEnvoyFilter(kind: PluginKind, namespace: string, name: string): KubeObject | undefined {
    return this.plane.snapshot
      .list('EnvoyFilter', namespace)
      .find((o) =>
        (o.metadata.ownerReferences ?? []).some(
          (r) => r.kind === kind && r.controller === true && r.name === name,
        ),
      );
  }

  /**
   * Objects of `kind` from the caches, or from the store for kinds no enabled module keeps a cache of
   * (the plugin module alone watches no Pods); a kind the cluster does not serve has none.
   */
  async objects(store: ClusterStore, kind: string): Promise<readonly KubeObject[]> {
    if (this.plane.informers.has(kind)) return this.plane.snapshot.list(kind);
    try {
      return [...(await store.list(kind)).items];
    } catch {
      return [];
    }
  }
}

/** The plugin module's service (throws when the module is not enabled). */
export const pluginOf = (modules: ModuleServices): PluginService => modules.service<PluginService>('plugin');
