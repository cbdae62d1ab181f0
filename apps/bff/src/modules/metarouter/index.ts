/** The metarouter module: Aeraki's MetaRouter → EnvoyFilters for MetaProtocol services, and their routes over RDS. */
import type { ModuleDefinition } from '../../framework/registry';
import { metaRouterExamples } from './examples';
import { metaRouterRouter } from './metarouters-router';
import { createMetaRouterModule, type MetaRouterModule } from './module';
import { MetaRouterService } from './service';
import { METAROUTER_MODULE } from './settings';

const metaProtocolKind = (plural: string, hasStatus: boolean, clusterScoped = false) =>
  ({
    group: 'metaprotocol.aeraki.io',
    version: 'v1alpha1',
    plural,
    hasStatus,
    ...(clusterScoped ? { clusterScoped: true } : {}),
  }) as const;

export const metarouter = {
  name: 'metarouter',
  summary: "MetaProtocol routing (Aeraki's): MetaRouter → routes served over RDS, EnvoyFilters per service",
  kind: 'MetaRouter',
  kinds: {
    MetaRouter: metaProtocolKind('metarouters', true),
    ApplicationProtocol: metaProtocolKind('applicationprotocols', false, true),
  },
  settings: METAROUTER_MODULE,
  create: createMetaRouterModule,
  examples: metaRouterExamples,
  service: (plane, module) => new MetaRouterService(plane, module as MetaRouterModule),
  commands: {},
  api: { metarouter: metaRouterRouter },
} as const satisfies ModuleDefinition<MetaRouterService>;
