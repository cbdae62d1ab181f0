import type { Page } from '@playwright/test';
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
    // Only admins edit SlimeBoots.
    await expect(page.getByRole('button', { name: /SlimeBoot/ })).toHaveCount(0);
    // Nothing the demo's modules cannot work without is missing, and no restart is pending.
    await expect(page.getByRole('region', { name: 'Modules' }).getByRole('alert')).toHaveCount(0);
    await saveScreenshot('modules');
    await checkAccessibility();
  });
});

test.describe('modules, a SlimeBoot edited by an admin', () => {
  const restartBanner = (page: Page) =>
    page
      .getByRole('region', { name: 'Modules' })
      .getByRole('alert')
      .filter({ hasText: 'SlimeBoot mesh-operator/limiter changed at' });

  test('a bad edit shows the issue and changes nothing; a good one waits for a restart', async ({
    login,
    page,
    api,
    checkAccessibility,
  }) => {
    await login('admin');
    await page.goto('/modules');
    const limiter = page
      .getByRole('list', { name: 'Modules' })
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: 'limiter' }) });
    await expect(page.getByText('A change applies at the next restart of the BFF')).toContainText(
      'kubectl -n governor-system rollout restart deployment/governor-bff',
    );
    // A module the defaults configure gets a new SlimeBoot, not an edit.
    await expect(page.getByRole('button', { name: 'New SlimeBoot for lazyload' })).toBeVisible();
    await expect(restartBanner(page)).toHaveCount(0);

    const edit = async (change: (yaml: string) => string) => {
      await limiter.getByRole('button', { name: 'Edit SlimeBoot mesh-operator/limiter' }).click();
      const editor = page.getByRole('region', { name: 'Edit SlimeBoot mesh-operator/limiter' });
      const text = editor.getByRole('textbox', { name: 'SlimeBoot YAML' });
      await expect(text).toContainText('kind: SlimeBoot');
      const yaml = await text.innerText();
      await text.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.insertText(change(yaml));
      return editor;
    };

    try {
      // A bad value: the parser's error names the field; nothing is written.
      const bad = await edit((y) => y.replace('backend: 1', 'backend: nine'));
      await bad.getByRole('button', { name: 'Validate' }).click();
      await expect(bad.getByRole('list', { name: 'Errors of the SlimeBoot' })).toContainText(
        'spec.module[0].general.backend',
      );
      await bad.getByRole('button', { name: 'Apply' }).click();
      await expect(bad.getByRole('alert')).toContainText('Not applied: spec.module[0].general.backend');
      await bad.getByRole('button', { name: 'Cancel' }).click();
      await page.reload();
      await expect(restartBanner(page)).toHaveCount(0);

      // A good one: the dry run says what a restart would change; the apply writes it, and the watch sees it.
      const good = await edit((y) => y.replace('backend: 1', 'backend: 0'));
      await good.getByRole('button', { name: 'Validate' }).click();
      await expect(good.getByRole('list', { name: 'What applying changes in limiter' })).toHaveText(
        'general.backend: "envoyLocalRateLimit" → "netEaseLocalFlowControl"',
      );
      await good.getByRole('button', { name: 'Apply' }).click();
      await expect(
        page.getByRole('status').filter({ hasText: 'Updated SlimeBoot mesh-operator/limiter' }),
      ).toBeVisible();
      await expect(restartBanner(page)).toContainText('restart the BFF to apply');
      await expect(
        restartBanner(page).getByRole('list', { name: 'What a restart changes in limiter' }),
      ).toHaveText('general.backend: "envoyLocalRateLimit" → "netEaseLocalFlowControl"');
      await expect(limiter.getByText('restart pending')).toBeVisible();
      // The running settings stay until the restart.
      await limiter.getByText('Settings in effect').click();
      await expect(limiter.getByLabel('Settings of limiter')).toContainText('backend: envoyLocalRateLimit');
      await checkAccessibility();

      // Back as it was: no module setting differs, the banner goes.
      await edit((y) => y.replace('backend: 0', 'backend: 1')).then((e) =>
        e.getByRole('button', { name: 'Apply' }).click(),
      );
      await expect(restartBanner(page)).toHaveCount(0);
      await expect(limiter.getByText('restart pending')).toHaveCount(0);
    } finally {
      // Whatever failed above, the shared BFF's SlimeBoot is left as the other specs expect it.
      const listed = (await (await api.query('modules.slimeBoots', {})).json()) as {
        result: { data: { name: string; yaml: string }[] };
      };
      const yaml = listed.result.data.find((b) => b.name === 'limiter')?.yaml ?? '';
      if (!yaml.includes('backend: 1'))
        await api.mutate('modules.applySlimeBoot', { yaml: yaml.replace(/backend: \S+/, 'backend: 1') });
    }
  });

  test('editors see no edit button', async ({ login, page }) => {
    await login('editor');
    await page.goto('/modules');
    await expect(page.getByTestId('source-limiter')).toBeVisible();
    await expect(page.getByRole('button', { name: /SlimeBoot/ })).toHaveCount(0);
  });
});
