/**
 * A small working example of the module, for the framework's contract suite and the docs: a Service with a
 * running Pod, a SmartLimiter limiting it, and an edit that makes the SmartLimiter invalid.
 */
import type { KubeObject } from '../../cluster/store';
import { exampleService, type ModuleExamples } from '../../framework/registry';

export const limiterExamples = (namespace: string): ModuleExamples => ({
  cluster: [
    exampleService(namespace, 'reviews', 9080),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'reviews-v1-0', namespace, labels: { app: 'reviews', version: 'v1' } },
      spec: { containers: [{ name: 'reviews', image: 'bookinfo/reviews-v1:1.18' }] },
      status: { phase: 'Running' },
    },
  ],
  object: {
    apiVersion: 'microservice.slime.io/v1alpha2',
    kind: 'SmartLimiter',
    metadata: { name: 'reviews', namespace },
    spec: {
      sets: {
        _base: {
          descriptor: [
            {
              action: { fill_interval: { seconds: 1 }, quota: '10', strategy: 'single' },
              condition: 'true',
              target: { port: 9080 },
            },
          ],
        },
      },
    },
  },
  // A condition naming a metric that does not exist: valid YAML and schema, an invalid plan.
  invalidate: (o: KubeObject): KubeObject => ({
    ...o,
    spec: JSON.parse(
      JSON.stringify(o.spec).replace('"condition":"true"', '"condition":"{{._base.nope}} > 1"'),
    ),
  }),
});
