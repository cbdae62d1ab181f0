/** The BFF's API: one router per domain, and each module's own. The web app imports this file's type only. */
import { MODULES } from '../modules';
import { authRouter } from './routers/auth';
import { auditRouter } from './routers/audit';
import { decisionsRouter } from './routers/decisions';
import { envoyRouter } from './routers/envoy';
import { eventsRouter } from './routers/events';
import { clusterRouter } from './routers/cluster';
import { clustersRouter } from './routers/clusters';
import { fleetRouter } from './routers/fleet';
import { metricsRouter } from './routers/metrics';
import { modulesRouter } from './routers/modules';
import { servicesRouter } from './routers/services';
import { router } from '../api/trpc';

type Modules = typeof MODULES;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;
/** Every module's routers, each under the name its module gives it. */
type ModuleRouters = UnionToIntersection<Modules[number]['api']>;

const moduleRouters = Object.assign({}, ...MODULES.map((m) => m.api)) as ModuleRouters;

export const appRouter = router({
  auth: authRouter,
  cluster: clusterRouter,
  clusters: clustersRouter,
  fleet: fleetRouter,
  services: servicesRouter,
  metrics: metricsRouter,
  decisions: decisionsRouter,
  events: eventsRouter,
  audit: auditRouter,
  envoy: envoyRouter,
  modules: modulesRouter,
  ...moduleRouters,
});

export type AppRouter = typeof appRouter;
