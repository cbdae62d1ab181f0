/**
 * A small working example of the module, for the framework's contract suite and the docs: a Thrift service
 * and a MetaRouter sending one method to v2, and an edit whose split adds up to 60.
 */
import type { KubeObject } from '../../cluster/store';
import type { ModuleExamples } from '../../framework/registry';

export const metaRouterExamples = (namespace: string): ModuleExamples => ({
  cluster: [
    {
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'ApplicationProtocol',
      // Cluster-scoped: one per example namespace, so that examples side by side do not collide.
      metadata: { name: `thrift-${namespace}` },
      spec: { protocol: 'thrift', codec: 'aeraki.meta_protocol.codec.thrift' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rating-rpc', namespace },
      spec: {
        selector: { app: 'rating-rpc' },
        ports: [{ name: 'tcp-metaprotocol-thrift-rpc', port: 9090, targetPort: 9090, protocol: 'TCP' }],
      },
    },
  ],
  object: {
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'MetaRouter',
    metadata: { name: 'rating-rpc', namespace },
    spec: {
      hosts: [`rating-rpc.${namespace}.svc.cluster.local`],
      routes: [
        {
          name: 'v2',
          match: { attributes: { method: { exact: 'getRating' } } },
          route: [{ destination: { host: `rating-rpc.${namespace}.svc.cluster.local`, subset: 'v2' } }],
        },
      ],
    },
  },
  invalidate: (o: KubeObject): KubeObject => ({
    ...o,
    spec: {
      hosts: [`rating-rpc.${namespace}.svc.cluster.local`],
      routes: [
        {
          name: 'split',
          route: [
            { destination: { host: `rating-rpc.${namespace}.svc.cluster.local`, subset: 'v1' }, weight: 30 },
            { destination: { host: `rating-rpc.${namespace}.svc.cluster.local`, subset: 'v2' }, weight: 30 },
          ],
        },
      ],
    },
  }),
});
