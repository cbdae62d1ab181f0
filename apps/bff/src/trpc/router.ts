/** The BFF's API: one router per domain. The web app imports this file's type only. */
import { authRouter } from './routers/auth';
import { auditRouter, decisionsRouter, eventsRouter, replayRouter } from './routers/live';
import { clusterRouter, metricsRouter, servicesRouter } from './routers/mesh';
import { policiesRouter } from '../modules/limiter/router';
import { router } from './trpc';

export const appRouter = router({
  auth: authRouter,
  cluster: clusterRouter,
  services: servicesRouter,
  metrics: metricsRouter,
  policies: policiesRouter,
  decisions: decisionsRouter,
  events: eventsRouter,
  audit: auditRouter,
  replay: replayRouter,
});

export type AppRouter = typeof appRouter;
