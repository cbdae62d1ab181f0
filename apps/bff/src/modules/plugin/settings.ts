/** The plugin module's settings, as a SlimeBoot's `spec.module[]` entry for Slime's plugin module gives them. */
import { declareModule, PROXY_VERSION_SETTING, type SettingSpecs } from '../../framework/module-settings';

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

export const PLUGIN_MODULE = declareModule('plugin', PLUGIN_GENERAL, { legacyGeneralKey: 'plugin' });
