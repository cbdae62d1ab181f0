/**
 * `pnpm -s bench web`: the dashboard measured in Debian's Chromium against the product on its embedded
 * default (the BFF and the built dashboard, started here on free ports).
 *
 * - `web_fcp_ms`: first contentful paint of the overview, logged in.
 * - `web_live_data_ms`: from navigation to the overview showing live figures from the decisions stream.
 * - `web_live_lag_ms`: from the end of a second in the engine to that second shown on a service page
 *   (median over 10 seconds; the BFF, the browser and this process share one clock).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from './support/chromium';
import { resolvePorts } from './support/ports';

const root = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-editor-token-0123456789-0123456789';

async function waitFor(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const dir = mkdtempSync(join(tmpdir(), 'governor-bench-web-'));
const children: ChildProcess[] = [];
try {
  if (!existsSync(join(root, 'apps/web/.next/BUILD_ID'))) {
    const build = spawnSync('pnpm', ['--filter', '@governor/web', 'build'], { cwd: root, stdio: 'ignore' });
    if (build.status !== 0) throw new Error('the dashboard did not build');
  }
  const { BENCH_WEB_BFF_PORT: bffPort, BENCH_WEB_PORT: webPort } = resolvePorts([
    'BENCH_WEB_BFF_PORT',
    'BENCH_WEB_PORT',
  ]);
  const webUrl = `http://127.0.0.1:${webPort}`;
  writeFileSync(join(dir, 'users.yaml'), `users:\n  - { name: bench, role: editor, token: ${TOKEN} }\n`);
  const env = {
    ...process.env,
    KUBECONFIG: '',
    BFF_HOST: '127.0.0.1',
    BFF_PORT: String(bffPort),
    WEB_PORT: String(webPort),
    GOVERNOR_DATA_DIR: join(dir, 'data'),
    GOVERNOR_USERS_FILE: join(dir, 'users.yaml'),
    GOVERNOR_ALLOWED_ORIGINS: webUrl,
    GOVERNOR_RLS_PORT: '0',
    GOVERNOR_XDS_PORT: '0',
    GOVERNOR_BFF_URL: `http://127.0.0.1:${bffPort}`,
  };
  children.push(
    spawn(join(root, 'apps/bff/node_modules/.bin/tsx'), ['src/main.ts'], {
      cwd: join(root, 'apps/bff'),
      env,
      stdio: 'ignore',
    }),
    spawn(
      join(root, 'apps/web/node_modules/.bin/next'),
      ['start', '--hostname', '127.0.0.1', '--port', String(webPort)],
      {
        cwd: join(root, 'apps/web'),
        env,
        stdio: 'ignore',
      },
    ),
  );
  await waitFor(`http://127.0.0.1:${bffPort}/healthz`);
  await waitFor(`${webUrl}/login`);

  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const login = await context.request.post(`${webUrl}/trpc/auth.login`, {
      data: { token: TOKEN },
      headers: { origin: webUrl, 'content-type': 'application/json' },
    });
    if (!login.ok()) throw new Error(`login failed: ${login.status()}`);
    const page = await context.newPage();
    // Warm the server's caches once, as a user's second visit would find them.
    await page.goto(`${webUrl}/`);
    await page.getByText('Live: updated every second').waitFor({ timeout: 30_000 });

    const fcps: number[] = [];
    const lives: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${webUrl}/`);
      await page.getByText('Live: updated every second').waitFor({ timeout: 30_000 });
      const [fcp, live] = await page.evaluate(() => [
        performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
        performance.now(),
      ]);
      fcps.push(fcp!);
      lives.push(live!);
    }

    await page.goto(`${webUrl}/services/default/reviews`);
    await page.locator('dl[aria-label="Now"]').waitFor();
    const lags = await page.evaluate(
      () =>
        new Promise<number[]>((resolve) => {
          const dl = document.querySelector('dl[aria-label="Now"]')!;
          const out: number[] = [];
          let last = '';
          const observer = new MutationObserver(() => {
            const second = dl.getAttribute('data-second') ?? '';
            if (second === '' || second === last) return;
            last = second;
            // The second ended at (second + 1) s; it is on screen now.
            out.push(Date.now() - (Number(second) + 1) * 1000);
            if (out.length === 11) {
              observer.disconnect();
              resolve(out.slice(1));
            }
          });
          observer.observe(dl, { attributes: true, attributeFilter: ['data-second'] });
        }),
    );
    console.log(`web_fcp_ms: ${median(fcps).toFixed(0)}`);
    console.log(`web_live_data_ms: ${median(lives).toFixed(0)}`);
    console.log(`web_live_lag_ms: ${median(lags).toFixed(0)}`);
  } finally {
    await browser.close();
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
