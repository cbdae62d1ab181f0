/** The lazyload module: ServiceFence (Slime's lazyload) → an Istio Sidecar limiting a workload's egress. */
import { defineModule, serviceOf } from '../../framework/registry';
import { lazyloadExamples } from './examples';
import { fencesRouter } from './fences-router';
import { createLazyloadModule } from './module';
import { LazyloadService } from './service';
import { LAZYLOAD_MODULE } from './settings';

export const lazyload = defineModule({
  name: 'lazyload',
  summary: 'lazy loading: ServiceFence → Sidecar, egress limited to the services a workload calls',
  kind: 'ServiceFence',
  kinds: {
    ServiceFence: {
      group: 'microservice.slime.io',
      version: 'v1alpha1',
      plural: 'servicefences',
      hasStatus: true,
    },
    Sidecar: { group: 'networking.istio.io', version: 'v1alpha3', plural: 'sidecars', hasStatus: false },
  },
  settings: LAZYLOAD_MODULE,
  create: createLazyloadModule,
  examples: lazyloadExamples,
  service: serviceOf(LazyloadService),
  api: { lazyload: fencesRouter },
});
