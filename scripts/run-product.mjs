#!/usr/bin/env node
// Runs the product: the BFF and the built dashboard, side by side, with their output prefixed. Ctrl-C (or
// SIGTERM) reaches both, each finishes its own shutdown, and this exits once both have; if either stops
// by itself, the other is stopped too. `scripts/start` builds the dashboard first and then runs this.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const webPort = process.env.WEB_PORT || '3000';
const bffPort = process.env.BFF_PORT || '4000';
const env = {
  ...process.env,
  BFF_PORT: bffPort,
  WEB_PORT: webPort,
  GOVERNOR_BFF_URL: process.env.GOVERNOR_BFF_URL || `http://127.0.0.1:${bffPort}`,
};

const parts = [
  { name: 'bff', cwd: join(root, 'apps/bff'), bin: 'node_modules/.bin/tsx', args: ['src/main.ts'] },
  {
    // The build's standalone server (next.config.ts), as the container image runs it.
    name: 'web',
    cwd: join(root, 'apps/web'),
    bin: process.execPath,
    args: ['.next/standalone/apps/web/server.js'],
    env: { HOSTNAME: '127.0.0.1', PORT: webPort },
  },
];

const children = parts.map((part) => {
  const child = spawn(resolve(part.cwd, part.bin), part.args, {
    cwd: part.cwd,
    env: { ...env, ...part.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      (stream === child.stderr ? process.stderr : process.stdout).write(`${part.name.padEnd(3)} │ ${line}\n`);
    });
  }
  return {
    ...part,
    child,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
});

let stopping = false;
let failure = false;
function stopAll(signal) {
  if (stopping) {
    // A second Ctrl-C: don't wait.
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    return;
  }
  stopping = true;
  console.log(`governor: stopping (${signal})`);
  for (const { child } of children)
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));

for (const c of children) {
  c.exited.then(({ code, signal }) => {
    if (!stopping) {
      failure = true;
      console.error(`governor: ${c.name} stopped (${signal ?? `exit ${code}`}); stopping the rest`);
      stopAll('SIGTERM');
    }
  });
}

await Promise.all(children.map((c) => c.exited));
process.exit(failure ? 1 : 0);
