/**
 * A small working example of the module, for the framework's contract suite and the docs: a PluginManager
 * inserting Envoy's fault filter into the reviews workload's inbound listeners, and an edit that gives a
 * plugin both inline settings and Wasm code.
 */
import type { KubeObject } from '../../cluster/store';
import type { ModuleExamples } from '../../framework/registry';

export const pluginExamples = (namespace: string): ModuleExamples => ({
  cluster: [],
  object: {
    apiVersion: 'microservice.slime.io/v1alpha1',
    kind: 'PluginManager',
    metadata: { name: 'reviews-fault', namespace },
    spec: {
      workloadLabels: { app: 'reviews' },
      plugin: [
        {
          name: 'envoy.filters.http.fault',
          enable: true,
          listenerType: 'Inbound',
          port: 9080,
          type_url: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
          inline: { settings: {} },
        },
      ],
    },
  },
  invalidate: (o: KubeObject): KubeObject => ({
    ...o,
    spec: {
      workloadLabels: { app: 'reviews' },
      plugin: [
        { name: 'fault', enable: true, inline: { settings: {} }, wasm: { url: 'oci://example/fault' } },
      ],
    },
  }),
});
