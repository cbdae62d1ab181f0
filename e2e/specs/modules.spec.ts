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
