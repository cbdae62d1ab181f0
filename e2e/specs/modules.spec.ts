import { expect, test } from '../fixtures';

test.describe('modules', () => {
  test('shows which modules run, their settings and sources, and what they need', async ({
    login,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    await login('viewer');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Modules' }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Modules' })).toBeVisible();
    // The embedded default's east holds the demo's SlimeBoot; no GOVERNOR_MODULES file.
    await expect(page.getByTestId('slimeboot-status')).toContainText(
      '1 SlimeBoot in namespace mesh-operator: mesh-operator/limiter',
    );
    await expect(page.getByText('none (GOVERNOR_MODULES is unset)')).toBeVisible();

    const modules = page.getByRole('list', { name: 'Modules' });
    const limiter = modules
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: 'limiter' }) });
    await expect(limiter.getByText('running', { exact: true })).toBeVisible();
    await expect(page.getByTestId('source-limiter')).toHaveText(
      'Settings from SlimeBoot mesh-operator/limiter (spec.module[0]).',
    );
    await expect(page.getByTestId('source-lazyload')).toHaveText(
      'Settings from defaults: no SlimeBoot or file configures it.',
    );
    // Met by the simulated mesh and the rate-limit service; Redis only matters with several replicas.
    await expect(limiter.getByRole('list', { name: 'What limiter has' })).toContainText('the simulated mesh');
    await expect(limiter.getByRole('group', { name: 'What limiter is missing for some uses' })).toContainText(
      'REDIS_URL',
    );
    // Slime's deployment fields in the SlimeBoot are noted, not used.
    await expect(page.getByRole('list', { name: 'Issues of SlimeBoot mesh-operator/limiter' })).toContainText(
      "spec.image: Slime's deployment settings",
    );
    // The entry as written, and the settings in effect.
    await limiter.getByText('The entry in SlimeBoot mesh-operator/limiter, as written').click();
    await expect(limiter.getByLabel('Entry of limiter')).toContainText('backend: 1');
    await limiter.getByText('Settings in effect').click();
    await expect(limiter.getByLabel('Settings of limiter')).toContainText('backend: envoyLocalRateLimit');
    // Nothing the demo's modules cannot work without is missing, and no restart is pending.
    await expect(page.getByRole('region', { name: 'Modules' }).getByRole('alert')).toHaveCount(0);
    await saveScreenshot('modules');
    await checkAccessibility();
  });
});

test.describe('modules, a SlimeBoot changed since start', () => {
  test('shows the restart banner with what a restart would change', async ({
    login,
    page,
    checkAccessibility,
  }) => {
    // The embedded store cannot be changed from outside the BFF: the answer of modules.list is rewritten as
    // the BFF gives it after a SlimeBoot change (the integration tests cover the BFF's side).
    const at = '2026-12-06T20:00:00.000Z';
    await page.route(/\/trpc\/[^?]*modules\.list/, async (route) => {
      const response = await route.fetch();
      const procedures = new URL(route.request().url()).pathname.replace(/^\/trpc\//, '').split(',');
      const body = (await response.json()) as { result: { data: Record<string, unknown> } }[];
      const data = body[procedures.indexOf('modules.list')]!.result.data as {
        restartPending: unknown[];
        modules: { name: string; pending: unknown }[];
      };
      const changes = [{ path: 'general.domain', running: 'governor', configured: 'edge' }];
      data.restartPending = [
        {
          slimeBoot: 'mesh-operator/limiter',
          change: 'changed',
          at,
          message: `SlimeBoot mesh-operator/limiter changed at ${at}; restart the BFF to apply`,
          modules: [
            {
              module: 'limiter',
              runningSource: 'SlimeBoot mesh-operator/limiter',
              configuredSource: 'SlimeBoot mesh-operator/limiter',
              changes,
            },
          ],
        },
      ];
      data.modules.find((m) => m.name === 'limiter')!.pending = {
        slimeBoots: ['mesh-operator/limiter'],
        at,
        configuredSource: 'SlimeBoot mesh-operator/limiter',
        changes,
      };
      await route.fulfill({ response, json: body });
    });
    await login('viewer');
    await page.goto('/modules');
    const banner = page.getByRole('region', { name: 'Modules' }).getByRole('alert');
    await expect(banner).toContainText(
      `SlimeBoot mesh-operator/limiter changed at ${at}; restart the BFF to apply`,
    );
    await expect(banner.getByRole('list', { name: 'What a restart changes in limiter' })).toHaveText(
      'general.domain: "governor" → "edge"',
    );
    await expect(page.getByText('restart pending')).toBeVisible();
    await checkAccessibility();
  });
});
