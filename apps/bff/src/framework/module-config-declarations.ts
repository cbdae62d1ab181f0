/**
 * The `general` settings of Slime's modules Governor does not run yet, by Slime's names and with Slime's defaults (its modules'
 * config protos), so that a SlimeBoot written for Slime is checked against the names Slime reads.
 * Booleans default to false as in proto3; a setting Slime leaves empty has no default here.
 */
import { PROXY_VERSION_SETTING, type ModuleDeclaration, type SettingSpecs } from './module-config';

/** slime.io/slime/modules/plugin/api/config `PluginModule`. */
export const PLUGIN_GENERAL = {
  configDiscoveryDefaultConfig: {
    type: 'map',
    values: { type: 'any', description: 'A filter configuration.' },
    default: {},
    description: 'Default configurations of discovered filters, by type URL.',
  },
  proxyVersion: PROXY_VERSION_SETTING,
} as const satisfies SettingSpecs;

export const PLUGIN_MODULE: ModuleDeclaration = {
  name: 'plugin',
  settings: { general: PLUGIN_GENERAL },
  legacyGeneralKey: 'plugin',
};
