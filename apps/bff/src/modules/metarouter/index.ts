/** The metarouter module: Aeraki's MetaRouter → EnvoyFilters for MetaProtocol services, and their routes over RDS. */
import { defineModule, serviceOf } from '../../framework/registry';
import { metaRouterExamples } from './examples';
import { metaRouterRouter } from './metarouters-router';
import { createMetaRouterModule } from './module';
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

export const metarouter = defineModule({
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
  service: serviceOf(MetaRouterService),
  api: { metarouter: metaRouterRouter },
});
