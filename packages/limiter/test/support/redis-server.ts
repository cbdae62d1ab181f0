/**
 * Starts a throwaway `redis-server` on a free loopback port, with no persistence, for integration tests and
 * benchmarks. Installs Debian's `redis-server` package with apt-get when the binary is missing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs Debian's `pkg` when `command` is not on PATH (as root, or through sudo): the servers integration
 * tests start come from the machine's package manager.
 */
export function ensureDebianPackage(command: string, pkg: string): void {
  if (hasCommand(command)) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]): void => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run(['apt-get', ...lock, 'update', '-qq']);
  run(['apt-get', ...lock, 'install', '-y', '-qq', '--no-install-recommends', pkg]);
  if (!hasCommand(command)) throw new Error(`${command} is still missing after apt-get install ${pkg}`);
}

/** Installs `redis-server` from Debian's packages if it is not on PATH. */
export function ensureRedisServerInstalled(): void {
  ensureDebianPackage('redis-server', 'redis-server');
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A running redis-server that can be stopped and started again on the same port. */
export class RedisServer {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'governor-redis-'));

  private constructor(readonly port: number) {}

  /** Installs redis-server if needed and starts one on a free port. */
  static async start(): Promise<RedisServer> {
    ensureRedisServerInstalled();
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts (again) on this server's port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child !== null) return;
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    live.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // A test run that ends abruptly must not leave servers behind.
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    child.once('exit', () => live.delete(child));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${this.port} within 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops the server (SIGKILL when `hard`, as a crash would) and waits for it to exit. */
  async stop(hard = false): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    live.delete(child);
  }

  /** Stops the server and removes its working directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
