/**
 * A throwaway Prometheus (Debian's `prometheus` package, installed with apt-get when missing) on a free
 * loopback port, scraping the targets a test gives it at a short interval. It can be stopped and started
 * again on the same port and data directory, as an outage is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage, freePort } from '@governor/limiter/testing';

export function ensurePrometheusInstalled(): void {
  ensureDebianPackage('prometheus', 'prometheus');
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export interface PrometheusServerOptions {
  /** `host:port` targets scraped at `/metrics`. */
  readonly targets: readonly string[];
  /** Default `1s`. */
  readonly scrapeInterval?: string;
}

export class PrometheusServer {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'governor-prometheus-'));

  private constructor(
    readonly port: number,
    private readonly options: PrometheusServerOptions,
  ) {
    const interval = options.scrapeInterval ?? '1s';
    writeFileSync(
      join(this.dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${interval}`,
        `  evaluation_interval: ${interval}`,
        'scrape_configs:',
        '  - job_name: governor',
        '    honor_labels: true',
        `    scrape_timeout: ${interval}`,
        '    static_configs:',
        `      - targets: [${options.targets.map((t) => `'${t}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
  }

  /** Installs Prometheus if needed and starts one on a free port. */
  static async start(options: PrometheusServerOptions): Promise<PrometheusServer> {
    ensurePrometheusInstalled();
    const server = new PrometheusServer(await freePort(), options);
    await server.start();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts (again) on the same port and data directory, resolving once Prometheus says it is ready. */
  async start(): Promise<void> {
    if (this.child) return;
    installExitHook();
    const log = openSync(join(this.dir, 'prometheus.log'), 'a');
    const child = spawn(
      'prometheus',
      [
        `--config.file=${join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.child = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${this.log().slice(-2000)}`);
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus did not get ready: ${this.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops it (SIGTERM, then SIGKILL), resolving once the process has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops it and removes its data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Its log so far (for failure messages). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'prometheus.log'), 'utf8');
    } catch {
      return '';
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}
