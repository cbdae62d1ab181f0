/**
 * The BFF's composition root: the only place that reads the environment and wires parts together.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import packageJson from '../package.json' with { type: 'json' };
import { EmbeddedStore } from './cluster/embedded-store';
import { DEMO_CLUSTERS, demoClusterObjects, seedDemoMesh } from './demo/seed';
import { embeddedMembers, registryMembers, type FleetMember, type FleetMembers } from './fleet/members';
import type { GovernorOptions } from './governor';
import { parse } from 'yaml';
import { createBff, loadRuleFiles } from './server/bff';
import { BOOKINFO_CALLS, BOOKINFO_LOADS, remoteBookinfo } from './simulator';
import { AuditLog } from './audit/audit-log';
import { Auth, AuthError } from './auth/auth';
import { defaultQueries, queriesFromHandlers, type NamedQuery } from './sources/prometheus';
import { ConfigError, loadConfig, type BffConfig } from './server/config';
import { readModuleSources } from './server/slimeboot-modules';
import { DataDirLockedError, lockDataDir } from './server/data-dir-lock';
import { redactCredentials } from './redact';
import { adminTokenFromConfigMap } from './server/admin-token-configmap';
import type { KubernetesJsonApi } from './cluster/kubernetes-json-api';
import { MODULES } from './modules';
import { DEFAULT_RATE_LIMIT_SERVICE } from './modules/limiter/render';

interface OpenedClusters {
  readonly members: FleetMembers;
  readonly home: string;
  /** The home cluster's API, in kubernetes mode (its ConfigMap holds the admin token's hash). */
  readonly kube?: KubernetesJsonApi;
  /** Each cluster's own options: the embedded clusters' simulated traffic. */
  readonly governor?: (member: FleetMember) => Partial<GovernorOptions>;
  /** The set can hold more than one cluster: policies fan out. */
  readonly fanout: boolean;
}

/**
 * The clusters the BFF works on: KUBECONFIG's current context, or the contexts GOVERNOR_CLUSTERS names;
 * else the embedded default's two clusters, each a store in the data directory.
 */
async function openClusters(config: BffConfig): Promise<OpenedClusters> {
  if (config.mode === 'kubernetes') return openKubeconfigClusters(config);
  const { home, other } = DEMO_CLUSTERS;
  // East keeps the file a single embedded cluster had, so that an earlier data directory carries over.
  const stores = await Promise.all(
    [
      { name: home, file: 'store.json' },
      { name: other, file: `store-${other}.json` },
    ].map(async ({ name, file }) => {
      const store = await EmbeddedStore.open({ file: join(config.dataDir, file) });
      const seeded = await seedDemoMesh(store, demoClusterObjects(name));
      if (seeded > 0) console.log(`governor bff: seeded the demo mesh in ${name} (${seeded} objects)`);
      return { name, store };
    }),
  );
  return {
    members: embeddedMembers(stores),
    home,
    fanout: true,
    governor: (member) => ({
      simulator:
        member.name === home
          ? { loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS }
          : // Part of east's product page's calls to reviews land on west's reviews pods.
            remoteBookinfo(home),
    }),
  };
}

async function openKubeconfigClusters(config: BffConfig): Promise<OpenedClusters> {
  const [{ ClusterRegistry }, { KubeConfig }] = await Promise.all([
    import('./cluster/registry'),
    import('@kubernetes/client-node'),
  ]);
  const kubeconfigPath = (process.env.KUBECONFIG ?? '').split(':').find((p) => p !== '') ?? '';
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const current = kc.getCurrentContext();
  const { contexts, home } = config.clusters;
  const registry = await ClusterRegistry.open({
    kubeconfigPath,
    ...(contexts === '*' ? {} : { contexts: contexts ?? [current] }),
  });
  for (const p of registry.problems())
    console.warn(`governor bff: KUBECONFIG: ${p.context ? `context ${p.context}: ` : ''}${p.message}`);
  const homeEntry = registry.get(home ?? current) ?? (home === null ? registry.list()[0] : undefined);
  if (!homeEntry)
    throw new ConfigError(
      `GOVERNOR_HOME_CLUSTER ${home ?? current}: not one of the clusters (${registry
        .list()
        .map((c) => c.name)
        .join(', ')})`,
    );
  const store = homeEntry.store as Partial<{ api: KubernetesJsonApi }>;
  return {
    members: registryMembers(registry),
    home: homeEntry.name,
    // The current context alone stays alone (the file's other contexts are not followed).
    fanout: contexts !== null,
    ...(store.api ? { kube: store.api } : {}),
  };
}

/** The Prometheus queries a `GOVERNOR_PROMETHEUS_QUERIES` file names, merged over the defaults. */
function prometheusQueries(config: BffConfig): NamedQuery[] | undefined {
  const file = config.metrics.prometheusQueriesFile;
  if (file === undefined) return undefined;
  try {
    return queriesFromHandlers(
      parse(readFileSync(file, 'utf8')),
      defaultQueries(config.metrics.prometheusRateWindow),
    );
  } catch (e) {
    throw new ConfigError(
      `GOVERNOR_PROMETHEUS_QUERIES ${file}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function main(): Promise<void> {
  let config = loadConfig({ env: process.env, homeDir: homedir() });
  // Before anything in the data directory is opened: the store, audit log and token file have one writer.
  mkdirSync(config.dataDir, { recursive: true });
  const lock = lockDataDir(config.dataDir);
  process.once('exit', () => lock.release());
  const clusters = await openClusters(config);
  // The home cluster's SlimeBoots configure the modules they list (every cluster's), before any is created.
  const moduleSources = await readModuleSources(
    config,
    process.env,
    clusters.members.list().find((m) => m.name === clusters.home)?.store,
    (line) => console[line.level](`governor bff: ${line.text}`),
  );
  config = moduleSources.config;
  for (const line of moduleSources.log) console[line.level](`governor bff: ${line.text}`);
  // A SlimeBoot's `metric.prometheus` serves when PROMETHEUS_URL and GOVERNOR_PROMETHEUS_QUERIES do not say.
  const slimeMetric =
    moduleSources.modules.running.modules.limiter?.source.type === 'defaults'
      ? undefined
      : config.modules.settings.limiter?.metric;
  const queries = prometheusQueries(config) ?? slimeMetric?.prometheusQueries;
  const metrics =
    config.metrics.prometheusUrl === undefined && slimeMetric?.prometheusUrl
      ? { ...config.metrics, prometheusUrl: slimeMetric.prometheusUrl }
      : config.metrics;
  const { kube } = clusters;
  const announceAdminToken = (token: string, where: string | undefined) =>
    console.log(
      `governor bff: created the admin token (shown once; its hash is in ${where ?? 'memory'}):\n\n    ${token}\n\n` +
        `  Log in to the dashboard with it, or send it as "Authorization: Bearer <token>". Lost it? Delete ${where ?? 'it'} and restart.`,
    );
  // In a cluster the hash is in a ConfigMap every replica and restart shares, not in the Pod's data directory.
  const inCluster = kube
    ? await adminTokenFromConfigMap({ api: kube, namespace: config.namespace })
    : undefined;
  if (inCluster?.createdToken) announceAdminToken(inCluster.createdToken, inCluster.where);
  const auth = new Auth({
    dataDir: config.dataDir,
    ...(inCluster ? { adminTokenSha256: inCluster.tokenSha256 } : {}),
    ...(config.usersFile ? { usersFile: config.usersFile } : {}),
    onAdminTokenCreated: announceAdminToken,
  });
  const audit = new AuditLog(join(config.dataDir, 'audit.jsonl'));
  const bff = createBff({
    clusters: {
      members: clusters.members,
      home: clusters.home,
      ...(clusters.governor ? { governor: clusters.governor } : {}),
      ...(clusters.fanout ? {} : { fanout: false as const }),
    },
    mode: config.mode,
    auth,
    audit,
    allowedOrigins: config.allowedOrigins,
    rls: config.rls,
    accessLog: config.accessLog !== null,
    xds: config.xds !== null,
    governor: {
      modules: MODULES,
      metrics,
      moduleSettings: config.modules.settings,
      // The EnvoyFilters name the domain this BFF's rate-limit service answers (a SlimeBoot's `domain` wins).
      rateLimitService: {
        ...DEFAULT_RATE_LIMIT_SERVICE,
        ...(config.rls ? { domain: config.rls.domain } : {}),
      },
      ...(queries ? { prometheusQueries: queries } : {}),
      // The embedded default is a living mesh; against a cluster the traffic is real.
      simulate: config.mode === 'embedded',
      // Bookinfo's own traffic: users on the product page, which calls the other services.
      simulator: { loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
      // The namespace Governor runs in holds its leader-election Lease (deploy/ sets it from the Pod).
      leaseNamespace: config.namespace,
    },
    info: { name: 'governor', version: packageJson.version, startedAt: new Date().toISOString() },
    moduleConfig: moduleSources.modules,
  });
  await bff.start();
  const { governor, server } = bff;
  const mesh = governor.mesh;

  const { url } = await server.listen({ host: config.host, port: config.port });
  if (config.rls) {
    if (config.rls.ruleFiles?.length)
      await loadRuleFiles(bff.rls!, config.rls.ruleFiles).catch((e: unknown) => {
        throw new ConfigError(`GOVERNOR_RLS_CONFIG: ${e instanceof Error ? e.message : String(e)}`);
      });
    const rlsPort = await bff.listenRls(config.host, config.rls.port).catch((e: unknown) => {
      throw new ConfigError(
        `the rate-limit service cannot listen on ${config.host}:${config.rls!.port} (${e instanceof Error ? e.message : String(e)}): ` +
          'another process may use that port. Choose another with GOVERNOR_RLS_PORT (0 for a free one), or GOVERNOR_RLS_PORT=off.',
      );
    });
    console.log(
      `governor bff: rate-limit service (Envoy RLS gRPC, domain ${[config.rls.domain, ...(bff.rls?.domains().map((d) => d.domain) ?? [])].filter((d, i, all) => all.indexOf(d) === i).join(', ')}) on ${config.host}:${rlsPort}, ` +
        `counting ${config.rls.redisUrl ? `in Redis at ${redactCredentials(config.rls.redisUrl)}` : 'in this process (set REDIS_URL to share with replicas)'}`,
    );
  }
  if (config.accessLog) {
    const port = await bff.listenAccessLog(config.host, config.accessLog.port).catch((e: unknown) => {
      throw new ConfigError(
        `the access-log service cannot listen on ${config.host}:${config.accessLog!.port} (${e instanceof Error ? e.message : String(e)}): ` +
          'another process may use that port. Choose another with GOVERNOR_ACCESSLOG_PORT (0 for a free one), or GOVERNOR_ACCESSLOG_PORT=off.',
      );
    });
    console.log(
      `governor bff: access-log service (Envoy ALS gRPC) on ${config.host}:${port}: the calls sidecars report teach lazyload`,
    );
  }
  if (config.xds) {
    const port = await bff.listenXds(config.host, config.xds.port).catch((e: unknown) => {
      throw new ConfigError(
        `the MetaProtocol route server cannot listen on ${config.host}:${config.xds!.port} (${e instanceof Error ? e.message : String(e)}): ` +
          'another process may use that port. Choose another with GOVERNOR_XDS_PORT (0 for a free one), or GOVERNOR_XDS_PORT=off.',
      );
    });
    console.log(
      `governor bff: MetaProtocol route server (xDS RDS gRPC) on ${config.host}:${port}: MetaRouters' routes for Aeraki's proxies`,
    );
  }
  const metricsFrom = metrics.prometheusUrl
    ? `Prometheus at ${redactCredentials(metrics.prometheusUrl)}`
    : mesh
      ? 'the simulated mesh'
      : 'pushed values only';
  console.log(
    `governor bff listening on ${url} (${config.mode} mode, clusters ${clusters.members
      .list()
      .map((m) => (m.name === clusters.home ? `${m.name} (home)` : m.name))
      .join(', ')}, metrics from ${metricsFrom}, data in ${config.dataDir})`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C means "now": don't wait for slow requests.
      process.exit(1);
    }
    stopping = true;
    console.log(`governor bff: ${signal}, finishing open requests`);
    Promise.all([server.close(), bff.stop().then(() => clusters.members.close())])
      .then(() => audit.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('governor bff: shutdown failed:', error);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`governor bff: ${redactCredentials(describeStartupError(error))}`);
  process.exit(1);
});

function describeStartupError(error: unknown): string {
  if (error instanceof ConfigError || error instanceof AuthError || error instanceof DataDirLockedError)
    return error.message;
  if (isErrnoException(error) && error.code === 'EADDRINUSE') {
    return `${error.message}: another process already listens there. Stop it, or choose another port with BFF_PORT.`;
  }
  if (isErrnoException(error) && error.code === 'EADDRNOTAVAIL') {
    return `${error.message}: BFF_HOST is not an address of this machine.`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
