/** The limiter's settings, as a SlimeBoot's `spec.module[]` entry for Slime's limiter gives them. */
import {
  PROXY_VERSION_SETTING,
  type ModuleDeclaration,
  type SettingSpecs,
} from '../../framework/module-config';
import { DEFAULT_QUERIES } from '../../sources/prometheus';

/** slime.io/slime/modules/limiter/api/config `Limiter`. */
export const LIMITER_GENERAL = {
  backend: {
    type: 'enum',
    values: ['netEaseLocalFlowControl', 'envoyLocalRateLimit'],
    numbered: true,
    description: 'The local rate-limit filter the EnvoyFilters use.',
  },
  refresh: { type: 'duration', description: 'How often limits are re-evaluated.' },
  disableGlobalRateLimit: {
    type: 'boolean',
    default: false,
    description: 'Render no global (rate-limit service) limits.',
  },
  disableAdaptive: {
    type: 'boolean',
    default: false,
    description: 'Read no metrics: quotas that are expressions of metrics are not evaluated.',
  },
  enableServiceEntry: {
    type: 'boolean',
    default: false,
    description: 'Limit ServiceEntry hosts as well as Services.',
  },
  disableInsertLocalRateLimit: {
    type: 'boolean',
    default: false,
    description: 'Do not insert the local rate-limit HTTP filter (it is inserted elsewhere).',
  },
  disableInsertGlobalRateLimit: {
    type: 'boolean',
    default: false,
    description: 'Do not insert the global rate-limit HTTP filter (it is inserted elsewhere).',
  },
  rlsConfigMap: {
    type: 'object',
    description: "The ConfigMap holding the rate-limit service's configuration.",
    fields: {
      name: { type: 'string', description: "The ConfigMap's name." },
      namespace: { type: 'string', description: "The ConfigMap's namespace." },
    },
  },
  domain: {
    type: 'string',
    description: "The domain Envoy's rate-limit filter sends (Governor: GOVERNOR_RLS_DOMAIN when unset).",
  },
  rls: {
    type: 'object',
    description: 'The rate-limit service Envoy calls for global limits.',
    fields: {
      service: {
        type: 'string',
        description: "The service's host, such as rate-limit.istio-system.svc.cluster.local.",
      },
      port: { type: 'integer', min: 1, max: 65535, description: "The service's gRPC port." },
    },
  },
  proxyVersion: PROXY_VERSION_SETTING,
  enableRatelimitPlaceholderInRoute: {
    type: 'boolean',
    default: false,
    description: 'Put a rate-limit placeholder in every route, so that adding a limit changes less.',
  },
} as const satisfies SettingSpecs;

export const LIMITER_MODULE: ModuleDeclaration = {
  name: 'limiter',
  settings: { general: LIMITER_GENERAL },
  legacyGeneralKey: 'limiter',
  defaultQueries: DEFAULT_QUERIES,
};
