import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './support/chromium';
import { resolvePorts } from './support/ports';

/**
 * Starts the product as ./scripts/start does (the BFF and the built dashboard, embedded mode) on free
 * ports, plus a second dashboard whose BFF URL points at a port nothing listens on. Set E2E_WEB_PORT,
 * E2E_BFF_PORT, E2E_OFFLINE_WEB_PORT or E2E_CLOSED_PORT to pin a port. Expects `next build` to have run
 * (scripts/test-e2e does it).
 */
const ports = resolvePorts(['E2E_WEB_PORT', 'E2E_BFF_PORT', 'E2E_OFFLINE_WEB_PORT', 'E2E_CLOSED_PORT']);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const local = (port: number): string => `http://127.0.0.1:${port}`;

/** Known tokens for the tests to log in with (see fixtures.ts), in a users file the BFF reads. */
export const E2E_USERS = {
  editor: { name: 'erin', role: 'editor', token: 'e2e-editor-token-0123456789-0123456789' },
  viewer: { name: 'vera', role: 'viewer', token: 'e2e-viewer-token-0123456789-0123456789' },
  // Simulating a cluster's outage is for admins only.
  admin: { name: 'ada', role: 'admin', token: 'e2e-admin-token-0123456789-0123456789-0' },
} as const;
// A fresh data directory per run: no state from an earlier run (the config is also loaded by workers,
// which start no server and only read E2E_USERS).
const dataDir = mkdtempSync(join(tmpdir(), 'governor-e2e-'));
// Removed when this process ends: the servers using it are stopped before the runner exits.
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const usersFile = join(dataDir, 'users.yaml');
writeFileSync(
  usersFile,
  `users:\n${Object.values(E2E_USERS)
    .map((u) => `  - { name: ${u.name}, role: ${u.role}, namespaces: '*', token: ${u.token} }`)
    .join('\n')}\n`,
);
const bffUrl = local(ports.E2E_BFF_PORT);
const webUrl = local(ports.E2E_WEB_PORT);
const offlineWebUrl = local(ports.E2E_OFFLINE_WEB_PORT);

// Playwright sends SIGTERM to each server's process group and waits, so the BFF's shutdown path runs too.
const gracefulShutdown = { signal: 'SIGTERM', timeout: 10_000 } as const;

export default defineConfig({
  testDir: './specs',
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    browserName: 'chromium',
    trace: 'retain-on-failure',
    launchOptions: chromiumLaunchOptions,
  },
  projects: [
    { name: 'connected', testIgnore: 'bff-unreachable.spec.ts', use: { baseURL: webUrl } },
    { name: 'bff-unreachable', testMatch: 'bff-unreachable.spec.ts', use: { baseURL: offlineWebUrl } },
  ],
  webServer: [
    {
      name: 'bff',
      command: 'pnpm --filter @governor/bff start',
      cwd: repoRoot,
      url: `${bffUrl}/healthz`,
      env: {
        BFF_HOST: '127.0.0.1',
        BFF_PORT: String(ports.E2E_BFF_PORT),
        // Embedded mode whatever the developer's shell has, and never the developer's own state.
        KUBECONFIG: '',
        GOVERNOR_DATA_DIR: join(dataDir, 'data'),
        GOVERNOR_USERS_FILE: usersFile,
        GOVERNOR_ALLOWED_ORIGINS: webUrl,
        // The rate-limit service and the route server on free ports: never one a developer's machine uses.
        GOVERNOR_RLS_PORT: '0',
        GOVERNOR_XDS_PORT: '0',
      },
      reuseExistingServer: false,
      timeout: 60_000,
      gracefulShutdown,
    },
    {
      name: 'web',
      command: 'pnpm --filter @governor/web start',
      cwd: repoRoot,
      url: `${webUrl}/`,
      env: { WEB_PORT: String(ports.E2E_WEB_PORT), GOVERNOR_BFF_URL: bffUrl },
      reuseExistingServer: false,
      timeout: 60_000,
      gracefulShutdown,
    },
    {
      name: 'web, BFF unreachable',
      command: 'pnpm --filter @governor/web start',
      cwd: repoRoot,
      url: `${offlineWebUrl}/`,
      env: { WEB_PORT: String(ports.E2E_OFFLINE_WEB_PORT), GOVERNOR_BFF_URL: local(ports.E2E_CLOSED_PORT) },
      reuseExistingServer: false,
      timeout: 60_000,
      gracefulShutdown,
    },
  ],
});
