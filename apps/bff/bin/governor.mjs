#!/usr/bin/env node
// Governor's command line. In the repository it runs the TypeScript sources (tsx compiles them on the
// fly), so it never runs a stale build; an installed package (`pnpm deploy`, whose "files" are dist/) has
// no sources and runs the compiled CLI, dist/governor.mjs, with plain Node.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(sources.href);
  process.exitCode = await main(process.argv.slice(2), {
    cwd: process.env.INIT_CWD ?? process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  });
} else {
  await import('../dist/governor.mjs');
}
