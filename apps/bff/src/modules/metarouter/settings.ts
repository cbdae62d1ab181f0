/** The metarouter module's settings, in a SlimeBoot-shaped `spec.module[]` entry named `metarouter`. */
import { declareModule, text, type SettingSpecs } from '../../framework/module-settings';

export const METAROUTER_GENERAL = {
  xdsCluster: {
    type: 'string',
    default: 'aeraki-xds',
    description:
      "The cluster in the MetaProtocol proxies' bootstrap that reaches Governor's route server (Aeraki's name).",
  },
  rootNamespace: text(
    "Where outbound EnvoyFilters go when a MetaRouter exports nowhere: the mesh's root namespace (default: global.istioNamespace).",
  ),
} as const satisfies SettingSpecs;

export const METAROUTER_MODULE = declareModule('metarouter', METAROUTER_GENERAL);
