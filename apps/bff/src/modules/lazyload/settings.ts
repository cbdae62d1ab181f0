/** The lazyload module's settings, as a SlimeBoot's `spec.module[]` entry for Slime's lazyload gives them. */
import {
  PROXY_VERSION_SETTING,
  type ModuleDeclaration,
  type SettingSpecs,
} from '../../framework/module-config';

const labelSelector = { type: 'any', description: 'A Kubernetes label selector.' } as const;

/** slime.io/slime/modules/lazyload/api/config `Fence`. */
export const LAZYLOAD_GENERAL = {
  wormholePort: {
    type: 'list',
    items: { type: 'string', description: 'A port, quoted: "9080".' },
    default: [],
    description: 'The service ports lazy loading applies to.',
  },
  autoFence: { type: 'boolean', default: false, description: 'Create ServiceFences automatically.' },
  namespace: {
    type: 'list',
    items: { type: 'string', description: 'A namespace.' },
    default: [],
    description: 'The namespaces lazy loading applies to.',
  },
  dispatches: {
    type: 'list',
    default: [],
    description: 'Where traffic to hosts outside the fence goes, by domain.',
    items: {
      type: 'object',
      description: 'A dispatch rule.',
      fields: {
        name: { type: 'string', description: "The rule's name." },
        domains: {
          type: 'list',
          items: { type: 'string', description: 'A domain.' },
          description: 'The domains it matches.',
        },
        cluster: { type: 'string', description: 'The cluster matching traffic goes to.' },
        domainRegex: { type: 'string', description: 'An RE2 regular expression of domains it matches.' },
      },
    },
  },
  domainAliases: {
    type: 'list',
    default: [],
    description: 'Other names of a domain, by regular expression and templates.',
    items: {
      type: 'object',
      description: 'An alias rule.',
      fields: {
        pattern: { type: 'string', description: 'An RE2 regular expression with named groups.' },
        templates: {
          type: 'list',
          items: { type: 'string', description: 'A template such as $namespace.$service.' },
          description: 'The alias names, from the groups.',
        },
      },
    },
  },
  defaultFence: {
    type: 'boolean',
    default: false,
    description: 'With autoFence: create a fence for a service that does not say.',
  },
  autoPort: {
    type: 'boolean',
    default: false,
    description: "Manage the services' HTTP ports automatically.",
  },
  clusterGsNamespace: {
    type: 'string',
    description: "The global sidecar's namespace (default: global.slimeNamespace).",
  },
  fenceLabelKeyAlias: { type: 'string', description: 'Another label key that asks for a fence.' },
  enableShortDomain: {
    type: 'boolean',
    default: false,
    description: 'Write short domains as well as fully qualified ones.',
  },
  disableIpv4Passthrough: {
    type: 'boolean',
    default: false,
    description: 'Deprecated: send IPv4 requests to the global sidecar too.',
  },
  passthroughByDefault: {
    type: 'boolean',
    default: false,
    description: 'Send traffic outside the fence to the PassthroughCluster.',
  },
  supportH2: { type: 'boolean', default: false, description: 'Lazy-load gRPC and HTTP/2 as well.' },
  addEnvHeaderViaLua: {
    type: 'boolean',
    default: false,
    description: 'Add the Slime-Orig-Dest and Slime-Source-Ns headers with Lua.',
  },
  globalSidecarMode: {
    type: 'enum',
    values: ['cluster', 'namespace'],
    description: 'One global sidecar for the cluster, or one per namespace.',
  },
  render: { type: 'string', description: 'lazyload: the module renders its global sidecar chart itself.' },
  metricSourceType: {
    type: 'enum',
    values: ['prometheus', 'accesslog'],
    description: 'Where calls between services are learned from.',
  },
  cleanupWormholePort: {
    type: 'boolean',
    default: false,
    description: 'Remove a wormhole port that is no longer listed.',
  },
  managementSelectors: {
    type: 'list',
    items: labelSelector,
    default: [],
    description: 'With autoFence: the namespaces managed, by label selector (any matches).',
  },
  blackNamespaceList: {
    type: 'string',
    description: 'With autoFence: namespaces excluded (comma-separated).',
  },
  whiteNamespaceList: { type: 'string', description: 'With autoFence: the only namespaces included.' },
  proxyVersion: PROXY_VERSION_SETTING,
  stableHost: {
    type: 'list',
    items: { type: 'string', description: 'A host.' },
    default: [],
    description: 'Hosts added to every ServiceFence.',
  },
} as const satisfies SettingSpecs;

export const LAZYLOAD_MODULE: ModuleDeclaration = {
  name: 'lazyload',
  settings: { general: LAZYLOAD_GENERAL },
  legacyGeneralKey: 'fence',
};
