import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';
import { MOVED } from './lib/routes';

const config: NextConfig = {
  reactStrictMode: true,
  // A self-contained server (.next/standalone) for the container image: apps/web/server.js with only the
  // node_modules files it needs. Traced from the workspace root so the workspace packages and pnpm's
  // store are included; scripts/build-images adds .next/static (and public/, when there is one).
  output: 'standalone',
  outputFileTracingRoot: fileURLToPath(new URL('../..', import.meta.url)),
  // Workspace packages ship TypeScript sources; Next compiles them with the app.
  transpilePackages: ['@governor/crd-types'],
  // Permanent (308): bookmarks and links to the former addresses keep working. Next passes the query on.
  redirects: async () => MOVED.map((m) => ({ ...m, permanent: true })),
};

export default config;
