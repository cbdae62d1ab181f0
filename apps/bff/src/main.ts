/**
 * The BFF's composition root: the only place that reads the environment and wires parts together.
 */
import { homedir } from 'node:os';
import packageJson from '../package.json' with { type: 'json' };
import { ConfigError, loadConfig } from './server/config';
import { createHttpServer } from './server/http-server';

async function main(): Promise<void> {
  const config = loadConfig({ env: process.env, homeDir: homedir() });
  const server = createHttpServer({
    info: {
      name: 'governor',
      version: packageJson.version,
      mode: config.mode,
      startedAt: new Date().toISOString(),
    },
  });

  const { url } = await server.listen({ host: config.host, port: config.port });
  console.log(`governor bff listening on ${url} (${config.mode} mode, data in ${config.dataDir})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C means "now": don't wait for slow requests.
      process.exit(1);
    }
    stopping = true;
    console.log(`governor bff: ${signal}, finishing open requests`);
    server.close().then(
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
  console.error(`governor bff: ${describeStartupError(error)}`);
  process.exit(1);
});

function describeStartupError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
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
