/**
 * A small working example of the module, for the framework's contract suite and the docs: a Service,
 * a ServiceFence for it naming one host, and an edit that names something that is not a host.
 */
import type { KubeObject } from '../../cluster/store';
import { exampleService, type ModuleExamples } from '../../framework/registry';

export const lazyloadExamples = (namespace: string): ModuleExamples => ({
  cluster: [exampleService(namespace, 'reviews', 9080)],
  object: {
    apiVersion: 'microservice.slime.io/v1alpha1',
    kind: 'ServiceFence',
    metadata: { name: 'reviews', namespace },
    spec: { enable: true, host: { [`ratings.${namespace}.svc.cluster.local`]: { stable: {} } } },
  },
  invalidate: (o: KubeObject): KubeObject => ({
    ...o,
    spec: { ...(o.spec as object), host: { 'not a host!': { stable: {} } } },
  }),
});
