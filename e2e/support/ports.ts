import { execFileSync } from 'node:child_process';

// Binds every socket before closing any, so the ports it prints are distinct.
const PICK_FREE_PORTS = `
const net = require('node:net');
const count = Number(process.argv[1]);
const servers = Array.from({ length: count }, () => net.createServer());
let listening = 0;
for (const server of servers) {
  server.listen(0, '127.0.0.1', () => {
    if (++listening < count) return;
    process.stdout.write(servers.map((s) => s.address().port).join(' '));
    for (const s of servers) s.close();
  });
}`;

/**
 * One TCP port per name: the value of that environment variable when set, else a port that is free on
 * 127.0.0.1 right now. Chosen ports are written back to `process.env`, because Playwright loads the
 * config again in each worker and the workers inherit the runner's environment: all of them must agree.
 *
 * Synchronous because the config is: a child process does the asynchronous `listen(0)`.
 */
export function resolvePorts<Name extends string>(names: readonly Name[]): Record<Name, number> {
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    const picked = execFileSync(process.execPath, ['-e', PICK_FREE_PORTS, String(missing.length)], {
      encoding: 'utf8',
    }).split(' ');
    missing.forEach((name, i) => {
      process.env[name] = picked[i];
    });
  }
  const ports = {} as Record<Name, number>;
  for (const name of names) {
    const port = Number(process.env[name]);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`${name} must be a TCP port number, got "${process.env[name]}"`);
    }
    ports[name] = port;
  }
  return ports;
}
