/**
 * CRD manifests generated from the same definitions as the types and runtime schemas. The checked-in YAML
 * under `manifests/` is this output; a test fails when it is stale (`pnpm --filter @governor/crd-types generate`).
 */
import { stringify } from 'yaml';
import { toOpenApi, type OpenApiSchema } from './schema/dsl';
import {
  SMARTLIMITER_GROUP,
  SMARTLIMITER_KIND,
  SMARTLIMITER_VERSION,
  smartLimiterSpecNode,
  smartLimiterStatusNode,
} from './smartlimiter';
import {
  SERVICEFENCE_GROUP,
  SERVICEFENCE_KIND,
  SERVICEFENCE_VERSION,
  serviceFenceSpecNode,
  serviceFenceStatusNode,
} from './servicefence';
import {
  ENVOYPLUGIN_KIND,
  PLUGIN_GROUP,
  PLUGIN_VERSION,
  PLUGINMANAGER_KIND,
  envoyPluginSpecNode,
  pluginManagerSpecNode,
  pluginStatusNode,
} from './plugin';
import {
  APPLICATIONPROTOCOL_KIND,
  METAPROTOCOL_GROUP,
  METAPROTOCOL_VERSION,
  METAROUTER_KIND,
  applicationProtocolSpecNode,
  metaRouterSpecNode,
  metaRouterStatusNode,
} from './metaprotocol';

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: OpenApiSchema };
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; description?: string }[];
    }[];
  };
}

export function smartLimiterCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `smartlimiters.${SMARTLIMITER_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'governor' },
    },
    spec: {
      group: SMARTLIMITER_GROUP,
      names: {
        kind: SMARTLIMITER_KIND,
        listKind: `${SMARTLIMITER_KIND}List`,
        plural: 'smartlimiters',
        singular: 'smartlimiter',
        shortNames: ['sl'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: SMARTLIMITER_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              description:
                'SmartLimiter: adaptive rate limits for a service, rendered into Istio EnvoyFilters. Fields are accepted in snake_case or lowerCamel.',
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toOpenApi(smartLimiterSpecNode),
                status: toOpenApi(smartLimiterStatusNode),
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            {
              name: 'Strategy',
              type: 'string',
              jsonPath: '.spec.sets._base.descriptor[*].action.strategy',
              description: 'Strategies of the _base descriptors',
            },
            {
              name: 'Ready',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Ready")].status',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

export function serviceFenceCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `servicefences.${SERVICEFENCE_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'governor' },
    },
    spec: {
      group: SERVICEFENCE_GROUP,
      names: {
        kind: SERVICEFENCE_KIND,
        listKind: `${SERVICEFENCE_KIND}List`,
        plural: 'servicefences',
        singular: 'servicefence',
        shortNames: ['svf'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: SERVICEFENCE_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              description:
                "ServiceFence: the hosts a workload may reach (Slime's lazyload), rendered into an Istio Sidecar.",
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toOpenApi(serviceFenceSpecNode),
                status: toOpenApi(serviceFenceStatusNode),
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Enable', type: 'boolean', jsonPath: '.spec.enable' },
            {
              name: 'Ready',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Ready")].status',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

function pluginCrd(
  kind: string,
  plural: string,
  shortName: string,
  description: string,
  spec: OpenApiSchema,
): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${PLUGIN_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'governor' } },
    spec: {
      group: PLUGIN_GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [shortName],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: PLUGIN_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              description,
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status: toOpenApi(pluginStatusNode),
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            {
              name: 'Ready',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Ready")].status',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

export const pluginManagerCrd = (): CustomResourceDefinition =>
  pluginCrd(
    PLUGINMANAGER_KIND,
    'pluginmanagers',
    'plm',
    "PluginManager: HTTP filters inserted into a workload's listeners (Slime's plugin manager), rendered into an Istio EnvoyFilter. Fields are accepted in snake_case or lowerCamel.",
    toOpenApi(pluginManagerSpecNode),
  );

export const envoyPluginCrd = (): CustomResourceDefinition =>
  pluginCrd(
    ENVOYPLUGIN_KIND,
    'envoyplugins',
    'ep',
    "EnvoyPlugin: filter configurations per route configuration, virtual host or route (Slime's plugin manager), rendered into an Istio EnvoyFilter. Fields are accepted in snake_case or lowerCamel.",
    toOpenApi(envoyPluginSpecNode),
  );

function metaProtocolCrd(
  kind: string,
  plural: string,
  scope: 'Namespaced' | 'Cluster',
  description: string,
  properties: Record<string, OpenApiSchema>,
  columns: { name: string; type: string; jsonPath: string; description?: string }[],
): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${METAPROTOCOL_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'governor' },
    },
    spec: {
      group: METAPROTOCOL_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope,
      versions: [
        {
          name: METAPROTOCOL_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              description,
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                ...properties,
              },
            },
          },
          ...('status' in properties ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: [
            ...columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

export const applicationProtocolCrd = (): CustomResourceDefinition =>
  metaProtocolCrd(
    APPLICATIONPROTOCOL_KIND,
    'applicationprotocols',
    'Cluster',
    "ApplicationProtocol: an application protocol and the codec Aeraki's MetaProtocol proxy decodes it with.",
    { spec: toOpenApi(applicationProtocolSpecNode) },
    [
      { name: 'Protocol', type: 'string', jsonPath: '.spec.protocol' },
      { name: 'Codec', type: 'string', jsonPath: '.spec.codec' },
    ],
  );

export const metaRouterCrd = (): CustomResourceDefinition =>
  metaProtocolCrd(
    METAROUTER_KIND,
    'metarouters',
    'Namespaced',
    "MetaRouter: routes, traffic split, mirroring and rate limits for a MetaProtocol service (Aeraki's), served to MetaProtocol proxies by Governor's route server.",
    { spec: toOpenApi(metaRouterSpecNode), status: toOpenApi(metaRouterStatusNode) },
    [
      { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts' },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      },
    ],
  );

/** All CRDs Governor owns, by file name. */
export function governorCrds(): Record<string, CustomResourceDefinition> {
  return {
    'smartlimiters.microservice.slime.io.yaml': smartLimiterCrd(),
    'servicefences.microservice.slime.io.yaml': serviceFenceCrd(),
    'pluginmanagers.microservice.slime.io.yaml': pluginManagerCrd(),
    'envoyplugins.microservice.slime.io.yaml': envoyPluginCrd(),
    'applicationprotocols.metaprotocol.aeraki.io.yaml': applicationProtocolCrd(),
    'metarouters.metaprotocol.aeraki.io.yaml': metaRouterCrd(),
  };
}

export function crdYaml(crd: CustomResourceDefinition): string {
  return `# Generated from packages/crd-types/src: do not edit. Regenerate with \`pnpm --filter @governor/crd-types generate\`.\n${stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
