/**
 * The API's routers called in process (`createCaller`) over a Governor on the embedded demo mesh, with
 * users of each role and scope, and a workload in a namespace of its own (`payments/ledger`) for scoping.
 */
import { AuditLog } from '../../src/audit/audit-log';
import { Auth, type User } from '../../src/auth/auth';
import type { ApiEvent } from '../../src/api/deps';
import type { Context } from '../../src/api/trpc';
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import type { KubeObject } from '../../src/cluster/store';
import { seedDemoMesh } from '../../src/demo/seed';
import { Governor, type GovernorOptions } from '../../src/governor';
import { Feed } from '../../src/lib/feed';
import { MODULES } from '../../src/modules';
import { createApi, eventHooks, type Api } from '../../src/trpc/create-api';
import { appRouter } from '../../src/trpc/router';

export const DEMO_API_ORIGIN = 'http://127.0.0.1:3000';

export const DEMO_API_USERS = {
  admin: { name: 'admin', role: 'admin', namespaces: '*' },
  editor: { name: 'ed', role: 'editor', namespaces: ['default'] },
  payments: { name: 'olga', role: 'editor', namespaces: ['payments'] },
  viewer: { name: 'vic', role: 'viewer', namespaces: '*' },
} as const satisfies Record<string, User>;

/** The demo mesh's services, by name, as `services.list` lists them. */
export const DEMO_SERVICE_NAMES = ['details', 'productpage', 'rating-rpc', 'ratings', 'reviews'];

/** The API's routers called in process by `user`, as over a bearer token. */
export const callerOf = (deps: Context['deps'], user: User) =>
  appRouter.createCaller({ deps, user, via: 'bearer', sessionId: null, origin: undefined, res: undefined });

/** A workload of a namespace of its own, for scoping. */
export const PAYMENTS_LEDGER: readonly KubeObject[] = [
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ledger', namespace: 'payments', labels: { app: 'ledger' } },
    spec: { selector: { app: 'ledger' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'ledger-1', namespace: 'payments', labels: { app: 'ledger' } },
    spec: { containers: [{ name: 'ledger' }] },
  },
];

export interface DemoApi {
  readonly store: EmbeddedStore;
  readonly governor: Governor;
  readonly api: Api;
  /** The routers as one of {@link DEMO_API_USERS} calls them, with a bearer token. */
  caller(who: keyof typeof DEMO_API_USERS): ReturnType<typeof appRouter.createCaller>;
  close(): Promise<void>;
}

export interface DemoApiOptions {
  /** Created beside the demo mesh; default {@link PAYMENTS_LEDGER}. */
  readonly objects?: readonly KubeObject[];
  /** Run the simulated mesh (default true, ticking every 50 ms, with these options). */
  readonly simulate?: boolean;
  readonly simulator?: GovernorOptions['simulator'];
}

/**
 * Seeds the demo mesh and `payments/ledger` (or `objects`), starts the Governor (the mesh on, metrics
 * every 200 ms) and the API.
 */
export async function startDemoApi(options: DemoApiOptions = {}): Promise<DemoApi> {
  const store = await EmbeddedStore.open({});
  await seedDemoMesh(store);
  for (const o of options.objects ?? PAYMENTS_LEDGER) await store.create(o);
  const events = new Feed<ApiEvent>(1000);
  const simulate = options.simulate ?? true;
  const governor = new Governor({
    modules: MODULES,
    store,
    simulate,
    metrics: {
      tickMs: 0,
      metricTickMs: simulate ? 200 : 0,
      prometheusIntervalMs: 1000,
      metricsUnavailable: 'keep',
    },
    simulator: { tickMs: 50, ...options.simulator },
    ...eventHooks(events),
  });
  const api = createApi(
    {
      governor,
      store,
      mode: 'embedded',
      auth: new Auth(),
      audit: new AuditLog(),
      allowedOrigins: [DEMO_API_ORIGIN],
    },
    events,
  );
  await governor.start();
  api.start();
  return {
    store,
    governor,
    api,
    caller: (who) => callerOf(api.deps, DEMO_API_USERS[who]),
    close: async () => {
      api.stop();
      await governor.stop();
      await store.close();
    },
  };
}
