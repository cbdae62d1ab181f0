import type { NextConfig } from 'next';

const config: NextConfig = {
  reactStrictMode: true,
  // Workspace packages ship TypeScript sources; Next compiles them with the app.
  transpilePackages: ['@governor/crd-types'],
};

export default config;
