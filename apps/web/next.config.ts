import type { NextConfig } from 'next';
import { MOVED } from './lib/routes';

const config: NextConfig = {
  reactStrictMode: true,
  // Workspace packages ship TypeScript sources; Next compiles them with the app.
  transpilePackages: ['@governor/crd-types'],
  // Permanent (308): bookmarks and links to the former addresses keep working. Next passes the query on.
  redirects: async () => MOVED.map((m) => ({ ...m, permanent: true })),
};

export default config;
