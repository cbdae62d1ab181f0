/** The plugin module: PluginManager and EnvoyPlugin (Slime's plugin manager) → Istio EnvoyFilters. */
import { defineModule, serviceOf } from '../../framework/registry';
import { pluginExamples } from './examples';
import { createPluginModule } from './module';
import { pluginsRouter } from './plugins-router';
import { PluginService } from './service';
import { PLUGIN_MODULE } from './settings';

const pluginKind = (plural: string) =>
  ({ group: 'microservice.slime.io', version: 'v1alpha1', plural, hasStatus: true }) as const;

export const plugin = defineModule({
  name: 'plugin',
  summary: 'Envoy plugins: PluginManager → HTTP filters, EnvoyPlugin → per-route filter configuration',
  kind: 'PluginManager',
  kinds: { PluginManager: pluginKind('pluginmanagers'), EnvoyPlugin: pluginKind('envoyplugins') },
  settings: PLUGIN_MODULE,
  create: createPluginModule,
  examples: pluginExamples,
  service: serviceOf(PluginService),
  api: { plugins: pluginsRouter },
});
