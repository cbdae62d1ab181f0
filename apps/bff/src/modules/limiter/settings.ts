/** The limiter's settings, as a SlimeBoot's `spec.module[]` entry for Slime's limiter gives them. */
import {
  declareModule,
  flag,
  object,
  PROXY_VERSION_SETTING,
  text,
  type SettingSpecs,
} from '../../framework/module-settings';
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
  disableGlobalRateLimit: flag('Render no global (rate-limit service) limits.'),
  disableAdaptive: flag('Read no metrics: quotas that are expressions of metrics are not evaluated.'),
  enableServiceEntry: flag('Limit ServiceEntry hosts as well as Services.'),
  disableInsertLocalRateLimit: flag(
    'Do not insert the local rate-limit HTTP filter (it is inserted elsewhere).',
  ),
  disableInsertGlobalRateLimit: flag(
    'Do not insert the global rate-limit HTTP filter (it is inserted elsewhere).',
  ),
  rlsConfigMap: object("The ConfigMap holding the rate-limit service's configuration.", {
    name: text("The ConfigMap's name."),
    namespace: text("The ConfigMap's namespace."),
  }),
  domain: text("The domain Envoy's rate-limit filter sends (Governor: GOVERNOR_RLS_DOMAIN when unset)."),
  rls: object('The rate-limit service Envoy calls for global limits.', {
    service: text("The service's host, such as rate-limit.istio-system.svc.cluster.local."),
    port: { type: 'integer', min: 1, max: 65535, description: "The service's gRPC port." },
  }),
  proxyVersion: PROXY_VERSION_SETTING,
  enableRatelimitPlaceholderInRoute: flag(
    'Put a rate-limit placeholder in every route, so that adding a limit changes less.',
  ),
} as const satisfies SettingSpecs;

export const LIMITER_MODULE = declareModule('limiter', LIMITER_GENERAL, {
  legacyGeneralKey: 'limiter',
  defaultQueries: DEFAULT_QUERIES,
});
