/**
 * A real BFF in this process on the embedded demo mesh (in-memory store, Bookinfo seeded), listening on a
 * free loopback port: what the tests that drive the product over HTTP start.
 */
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import { seedDemoMesh } from '../../src/demo/seed';
import { createBff, type Bff, type BffOptions } from '../../src/server/bff';
import { Auth, type User } from '../../src/auth/auth';
import { MODULES } from '../../src/modules';

export interface DemoBffOptions {
  /** Users of the API besides the generated admin. */
  readonly users?: readonly (User & { token: string })[];
  readonly allowedOrigins?: readonly string[];
  readonly rls?: BffOptions['rls'];
  readonly accessLog?: boolean;
  /** Serve MetaProtocol proxies their routes (listen with `bff.listenXds`). */
  readonly xds?: boolean;
  /** The control plane's options; without them: the simulator on, metrics ticking every 500 ms. */
  readonly governor?: BffOptions['governor'];
  /** Runs on the seeded store before the BFF starts. */
  readonly prepare?: (store: EmbeddedStore) => Promise<void>;
  /** Serve HTTP (default true). */
  readonly listen?: boolean;
  /** The port to serve HTTP on (default: a free one). */
  readonly port?: number;
}

export interface DemoBff {
  readonly store: EmbeddedStore;
  readonly bff: Bff;
  /** `http://127.0.0.1:PORT`, empty when not listening. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDemoBff(options: DemoBffOptions = {}): Promise<DemoBff> {
  const store = await EmbeddedStore.open({});
  await seedDemoMesh(store);
  await options.prepare?.(store);
  const bff = createBff({
    store,
    mode: 'embedded',
    auth: new Auth({ users: options.users ?? [] }),
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.rls !== undefined ? { rls: options.rls } : {}),
    ...(options.accessLog !== undefined ? { accessLog: options.accessLog } : {}),
    ...(options.xds !== undefined ? { xds: options.xds } : {}),
    governor: options.governor ?? {
      modules: MODULES,
      simulate: true,
      metrics: { tickMs: 0, metricTickMs: 500, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      simulator: { tickMs: 100 },
    },
    info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
  });
  await bff.start();
  const address =
    options.listen === false
      ? { url: '', port: 0 }
      : await bff.server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  return {
    store,
    bff,
    url: address.url,
    port: address.port,
    close: async () => {
      await bff.server.close();
      await bff.stop();
      await store.close();
    },
  };
}
