/** The lazyload module's settings, as a SlimeBoot's `spec.module[]` entry for Slime's lazyload gives them. */
import {
  declareModule,
  flag,
  list,
  object,
  PROXY_VERSION_SETTING,
  text,
  type SettingSpecs,
} from '../../framework/module-settings';

const labelSelector = { type: 'any', description: 'A Kubernetes label selector.' } as const;

/** slime.io/slime/modules/lazyload/api/config `Fence`. */
export const LAZYLOAD_GENERAL = {
  wormholePort: list(text('A port, quoted: "9080".'), 'The service ports lazy loading applies to.', []),
  autoFence: flag('Create ServiceFences automatically.'),
  namespace: list(text('A namespace.'), 'The namespaces lazy loading applies to.', []),
  dispatches: list(
    object('A dispatch rule.', {
      name: text("The rule's name."),
      domains: list(text('A domain.'), 'The domains it matches.'),
      cluster: text('The cluster matching traffic goes to.'),
      domainRegex: text('An RE2 regular expression of domains it matches.'),
    }),
    'Where traffic to hosts outside the fence goes, by domain.',
    [],
  ),
  domainAliases: list(
    object('An alias rule.', {
      pattern: text('An RE2 regular expression with named groups.'),
      templates: list(text('A template such as $namespace.$service.'), 'The alias names, from the groups.'),
    }),
    'Other names of a domain, by regular expression and templates.',
    [],
  ),
  defaultFence: flag('With autoFence: create a fence for a service that does not say.'),
  autoPort: flag("Manage the services' HTTP ports automatically."),
  clusterGsNamespace: text("The global sidecar's namespace (default: global.slimeNamespace)."),
  fenceLabelKeyAlias: text('Another label key that asks for a fence.'),
  enableShortDomain: flag('Write short domains as well as fully qualified ones.'),
  disableIpv4Passthrough: flag('Deprecated: send IPv4 requests to the global sidecar too.'),
  passthroughByDefault: flag('Send traffic outside the fence to the PassthroughCluster.'),
  supportH2: flag('Lazy-load gRPC and HTTP/2 as well.'),
  addEnvHeaderViaLua: flag('Add the Slime-Orig-Dest and Slime-Source-Ns headers with Lua.'),
  globalSidecarMode: {
    type: 'enum',
    values: ['cluster', 'namespace'],
    description: 'One global sidecar for the cluster, or one per namespace.',
  },
  render: text('lazyload: the module renders its global sidecar chart itself.'),
  metricSourceType: {
    type: 'enum',
    values: ['prometheus', 'accesslog'],
    description: 'Where calls between services are learned from.',
  },
  cleanupWormholePort: flag('Remove a wormhole port that is no longer listed.'),
  managementSelectors: list(
    labelSelector,
    'With autoFence: the namespaces managed, by label selector (any matches).',
    [],
  ),
  blackNamespaceList: text('With autoFence: namespaces excluded (comma-separated).'),
  whiteNamespaceList: text('With autoFence: the only namespaces included.'),
  proxyVersion: PROXY_VERSION_SETTING,
  stableHost: list(text('A host.'), 'Hosts added to every ServiceFence.', []),
} as const satisfies SettingSpecs;

export const LAZYLOAD_MODULE = declareModule('lazyload', LAZYLOAD_GENERAL, { legacyGeneralKey: 'fence' });
