import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultQueries } from '../sources/prometheus';
import { ConfigError, isLoopbackHost, loadConfig } from './config';

const homeDir = '/home/ada';

const tmp = mkdtempSync(join(tmpdir(), 'governor-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file in a fresh directory, holding `text`. */
function fileWith(text: string): string {
  const file = join(mkdtempSync(join(tmp, 'case-')), 'modules.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('defaults to loopback, port 4000, the XDG default data dir and embedded mode', () => {
    expect(loadConfig({ env: {}, homeDir })).toEqual({
      host: '127.0.0.1',
      port: 4000,
      dataDir: '/home/ada/.local/share/governor',
      mode: 'embedded',
      namespace: 'governor-system',
      metrics: {
        prometheusIntervalMs: 1000,
        tickMs: 5000,
        metricTickMs: 1000,
        metricsUnavailable: 'keep',
      },
      allowedOrigins: ['http://127.0.0.1:3000', 'http://localhost:3000'],
      rls: { port: 8081, domain: 'governor' },
      accessLog: null,
      xds: { port: 18010 },
      modules: {
        slimeBootNamespace: 'mesh-operator',
        settings: {
          limiter: expect.objectContaining({ enable: true }),
          lazyload: expect.objectContaining({ enable: true }),
          plugin: expect.objectContaining({ enable: true }),
          metarouter: expect.objectContaining({ enable: true }),
        },
        warnings: [],
        notes: [],
      },
      clusters: { contexts: null, home: null },
    });
  });

  it('reads the kubeconfig contexts to manage and the home cluster', () => {
    const clusters = (env: NodeJS.ProcessEnv) => loadConfig({ env, homeDir }).clusters;
    expect(clusters({ GOVERNOR_CLUSTERS: ' east, west ,', GOVERNOR_HOME_CLUSTER: 'west' })).toEqual({
      contexts: ['east', 'west'],
      home: 'west',
    });
    expect(clusters({ GOVERNOR_CLUSTERS: '*' })).toEqual({ contexts: '*', home: null });
    expect(() => clusters({ GOVERNOR_CLUSTERS: ' , ' })).toThrow(
      'GOVERNOR_CLUSTERS: name the kubeconfig contexts (comma-separated), or * for all',
    );
  });

  it('configures the rate-limit service, or turns it off', () => {
    expect(loadConfig({ env: { GOVERNOR_RLS_PORT: 'off' }, homeDir }).rls).toBeNull();
    expect(
      loadConfig({
        env: { GOVERNOR_RLS_PORT: '0', REDIS_URL: 'redis://127.0.0.1:6379/2', GOVERNOR_RLS_DOMAIN: 'edge' },
        homeDir,
      }).rls,
    ).toEqual({ port: 0, domain: 'edge', redisUrl: 'redis://127.0.0.1:6379/2' });
    expect(() => loadConfig({ env: { GOVERNOR_RLS_PORT: 'eighty' }, homeDir })).toThrow(/GOVERNOR_RLS_PORT/);
    expect(loadConfig({ env: { GOVERNOR_RLS_MAX_CONNECTIONS: '20000' }, homeDir }).rls).toMatchObject({
      maxConnections: 20000,
    });
    expect(() => loadConfig({ env: { GOVERNOR_RLS_MAX_CONNECTIONS: '0' }, homeDir })).toThrow(
      /GOVERNOR_RLS_MAX_CONNECTIONS/,
    );
    expect(() => loadConfig({ env: { REDIS_URL: 'localhost:6379' }, homeDir })).toThrow(/REDIS_URL/);
    // A refused URL is echoed without its password.
    expect(() => loadConfig({ env: { REDIS_URL: 'rediss://:pw-123@r:6379' }, homeDir })).toThrow(
      /got "rediss:\/\/:\*\*\*@r:6379"/,
    );
    expect(() => loadConfig({ env: { PROMETHEUS_URL: 'ftp://u:pw-123@p:9090' }, homeDir })).toThrow(
      /got "ftp:\/\/u:\*\*\*@p:9090"/,
    );
  });

  it('reads the origins allowed to change things, refusing what is not an origin', () => {
    expect(loadConfig({ env: { WEB_PORT: '3311' }, homeDir }).allowedOrigins).toEqual([
      'http://127.0.0.1:3311',
      'http://localhost:3311',
    ]);
    expect(
      loadConfig({
        env: { GOVERNOR_ALLOWED_ORIGINS: 'https://gov.example.com, http://10.0.0.5:3000' },
        homeDir,
      }).allowedOrigins,
    ).toEqual(['https://gov.example.com', 'http://10.0.0.5:3000']);
    expect(() =>
      loadConfig({ env: { GOVERNOR_ALLOWED_ORIGINS: 'https://gov.example.com/ui' }, homeDir }),
    ).toThrow(/not an origin/);
  });

  it('reads the metric settings, and refuses bad ones with a message naming the variable', () => {
    expect(
      loadConfig({
        env: {
          PROMETHEUS_URL: 'http://127.0.0.1:9090',
          GOVERNOR_TICK_MS: '0',
          GOVERNOR_METRIC_TICK_MS: '250',
          GOVERNOR_METRICS_UNAVAILABLE: 'open',
        },
        homeDir,
      }).metrics,
    ).toEqual({
      prometheusUrl: 'http://127.0.0.1:9090',
      prometheusIntervalMs: 1000,
      tickMs: 0,
      metricTickMs: 250,
      metricsUnavailable: 'open',
    });
    expect(() => loadConfig({ env: { PROMETHEUS_URL: 'prometheus:9090' }, homeDir })).toThrow(
      /PROMETHEUS_URL/,
    );
    expect(() => loadConfig({ env: { GOVERNOR_TICK_MS: '1s' }, homeDir })).toThrow(/GOVERNOR_TICK_MS/);
    expect(() => loadConfig({ env: { GOVERNOR_PROMETHEUS_INTERVAL_MS: '5' }, homeDir })).toThrow(/from 100/);
    expect(() => loadConfig({ env: { GOVERNOR_METRICS_UNAVAILABLE: 'drop' }, homeDir })).toThrow(
      /keep or open/,
    );
  });

  it('reads host, port and data dir from the environment', () => {
    const config = loadConfig({
      env: { BFF_HOST: '::1', BFF_PORT: '4310', GOVERNOR_DATA_DIR: '/var/lib/governor' },
      homeDir,
    });
    expect(config).toMatchObject({ host: '::1', port: 4310, dataDir: '/var/lib/governor' });
  });

  it('accepts port 0, which asks the OS for a free port', () => {
    expect(loadConfig({ env: { BFF_PORT: '0' }, homeDir }).port).toBe(0);
  });

  it('puts the data dir under an absolute XDG_DATA_HOME and ignores a relative one', () => {
    expect(loadConfig({ env: { XDG_DATA_HOME: '/data' }, homeDir }).dataDir).toBe('/data/governor');
    expect(loadConfig({ env: { XDG_DATA_HOME: 'data' }, homeDir }).dataDir).toBe(
      '/home/ada/.local/share/governor',
    );
  });

  it('runs against Kubernetes when KUBECONFIG is set, and treats an empty one as unset', () => {
    expect(loadConfig({ env: { KUBECONFIG: '/home/ada/.kube/config' }, homeDir }).mode).toBe('kubernetes');
    expect(loadConfig({ env: { KUBECONFIG: '' }, homeDir }).mode).toBe('embedded');
  });

  it.each(['http', '-1', '65536', '40.5', '4e3'])('rejects BFF_PORT=%s', (port) => {
    expect(() => loadConfig({ env: { BFF_PORT: port }, homeDir })).toThrow(ConfigError);
  });

  it('refuses a non-loopback host and says how to allow it', () => {
    expect(() => loadConfig({ env: { BFF_HOST: '0.0.0.0' }, homeDir })).toThrow(
      /Refusing to listen on 0\.0\.0\.0.*GOVERNOR_ALLOW_REMOTE=1/,
    );
  });

  it('binds to a non-loopback host when GOVERNOR_ALLOW_REMOTE=1', () => {
    const env = { BFF_HOST: '0.0.0.0', GOVERNOR_ALLOW_REMOTE: '1' };
    expect(loadConfig({ env, homeDir }).host).toBe('0.0.0.0');
  });
});

describe('loadConfig: GOVERNOR_MODULES', () => {
  const slimeBoot = (module: string) =>
    `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: governor}
spec:
  module:
${module}`;

  it('unset: every module runs with its defaults, its queries over GOVERNOR_PROMETHEUS_RATE_WINDOW', () => {
    const { modules } = loadConfig({ env: { GOVERNOR_PROMETHEUS_RATE_WINDOW: '30s' }, homeDir });
    expect(modules.file).toBeUndefined();
    expect(Object.keys(modules.settings)).toEqual(['limiter', 'lazyload', 'plugin', 'metarouter']);
    expect(modules.settings.limiter).toMatchObject({
      enable: true,
      general: { disableAdaptive: false, disableGlobalRateLimit: false },
      global: { istioNamespace: 'istio-system' },
      metric: { prometheusQueries: defaultQueries('30s') },
    });
  });

  it('reads the SlimeBoot it names: settings, and what the file has that is ignored', () => {
    const file = fileWith(
      slimeBoot(`    - name: limiter
      kind: limiter
      enable: true
      general: {disableAdaptive: true, disableglobalratelimit: true}
      metric:
        prometheus:
          handlers:
            rt99: {query: 'histogram_quantile(0.99, x)'}
`),
    );
    const { modules } = loadConfig({ env: { GOVERNOR_MODULES: ` ${file} ` }, homeDir });
    expect(modules.file).toBe(file);
    expect(modules.settings.limiter).toMatchObject({
      enable: true,
      general: { disableAdaptive: true, disableGlobalRateLimit: false },
    });
    expect(modules.settings.limiter!.metric.prometheusQueries).toContainEqual({
      name: 'rt99',
      query: 'histogram_quantile(0.99, x)',
    });
    expect(modules.warnings).toEqual([
      {
        path: 'spec.module[0].general.disableglobalratelimit',
        message:
          'unknown setting general.disableglobalratelimit of module limiter; did you mean disableGlobalRateLimit?',
        suggestion: 'disableGlobalRateLimit',
      },
    ]);
  });

  it("serves Envoy's access-log API only when lazyload learns from it, on GOVERNOR_ACCESSLOG_PORT", () => {
    expect(loadConfig({ env: {}, homeDir }).accessLog).toBeNull();
    const accesslog = fileWith(
      slimeBoot('    - {name: lazyload, enable: true, general: {metricSourceType: accesslog}}\n'),
    );
    expect(loadConfig({ env: { GOVERNOR_MODULES: accesslog }, homeDir }).accessLog).toEqual({ port: 8082 });
    expect(
      loadConfig({ env: { GOVERNOR_MODULES: accesslog, GOVERNOR_ACCESSLOG_PORT: '0' }, homeDir }).accessLog,
    ).toEqual({ port: 0 });
    expect(
      loadConfig({ env: { GOVERNOR_MODULES: accesslog, GOVERNOR_ACCESSLOG_PORT: 'off' }, homeDir }).accessLog,
    ).toBeNull();
    expect(() =>
      loadConfig({ env: { GOVERNOR_MODULES: accesslog, GOVERNOR_ACCESSLOG_PORT: '99999' }, homeDir }),
    ).toThrow('GOVERNOR_ACCESSLOG_PORT must be a port (0 for a free one) or off, got "99999".');
    const prometheus = fileWith(slimeBoot('    - {name: lazyload, enable: true}\n'));
    expect(loadConfig({ env: { GOVERNOR_MODULES: prometheus }, homeDir }).accessLog).toBeNull();
  });

  it('a module the file leaves out or does not enable is off', () => {
    const off = fileWith(slimeBoot('    - {name: limiter, enable: false}\n'));
    expect(loadConfig({ env: { GOVERNOR_MODULES: off }, homeDir }).modules.settings.limiter!.enable).toBe(
      false,
    );
    const empty = fileWith(slimeBoot('    []\n'));
    const { modules } = loadConfig({ env: { GOVERNOR_MODULES: empty }, homeDir });
    expect(modules.settings.limiter!.enable).toBe(false);
    expect(modules.notes.map((n) => n.message)).toEqual([
      'not in the file, so off: limiter, lazyload, plugin, metarouter',
    ]);
    expect(loadConfig({ env: { GOVERNOR_MODULES: empty }, homeDir }).xds).toBeNull();
  });

  it("reads rule files for the rate-limit service's other domains", () => {
    expect(loadConfig({ env: { GOVERNOR_RLS_CONFIG: 'a.yaml, b.yaml' }, homeDir }).rls?.ruleFiles).toEqual([
      'a.yaml',
      'b.yaml',
    ]);
  });

  it('configures the MetaProtocol route server, or turns it off', () => {
    expect(loadConfig({ env: { GOVERNOR_XDS_PORT: 'off' }, homeDir }).xds).toBeNull();
    expect(loadConfig({ env: { GOVERNOR_XDS_PORT: '0' }, homeDir }).xds).toEqual({ port: 0 });
    expect(() => loadConfig({ env: { GOVERNOR_XDS_PORT: '70000' }, homeDir })).toThrow(/GOVERNOR_XDS_PORT/);
  });

  it('refuses a file that is missing, unreadable or not a usable SlimeBoot, saying why', () => {
    const missing = join(mkdtempSync(join(tmp, 'case-')), 'nope.yaml');
    expect(() => loadConfig({ env: { GOVERNOR_MODULES: missing }, homeDir })).toThrow(
      new ConfigError(
        `GOVERNOR_MODULES: cannot read ${missing}: no such file. Name a SlimeBoot YAML file, or unset it to ` +
          `run every module with its defaults.`,
      ),
    );
    expect(() => loadConfig({ env: { GOVERNOR_MODULES: tmpdir() }, homeDir })).toThrow(
      /^GOVERNOR_MODULES: cannot read .*: a directory, not a file\./,
    );
    const notYaml = fileWith('spec: {module: [\n');
    expect(() => loadConfig({ env: { GOVERNOR_MODULES: notYaml }, homeDir })).toThrow(
      new RegExp(`^GOVERNOR_MODULES ${notYaml} cannot be used: not YAML: `),
    );
    expect(() => loadConfig({ env: { GOVERNOR_MODULES: fileWith('') }, homeDir })).toThrow(
      /cannot be used: no SlimeBoot in the input$/,
    );
    const wrongType = fileWith(
      slimeBoot('    - {name: limiter, enable: true, general: {rls: {port: eighty}}}\n'),
    );
    expect(() => loadConfig({ env: { GOVERNOR_MODULES: wrongType }, homeDir })).toThrow(
      new ConfigError(
        `GOVERNOR_MODULES ${wrongType} cannot be used: general.rls.port of module limiter must be a whole ` +
          `number from 1 to 65535, got "eighty" (at spec.module[0].general.rls.port)`,
      ),
    );
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '127.0.0.1.nip.io', ''])(
    '%s is not loopback',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});
