import { PluginPage } from '../pages/app-pages';
import { expect, test } from '../fixtures';

const FAULT = 'envoy.filters.http.fault';
const ROUTER = 'envoy.filters.http.router';
const BY_PLUGIN_MANAGER = 'PluginManager default/ratings-fault';

/** Rows `name by source`: the PluginManager's fault filter comes before the router. */
const faultBeforeRouter = (rows: string[]): boolean => {
  const fault = rows.findIndex((r) => r.includes(FAULT) && r.includes(BY_PLUGIN_MANAGER));
  const router = rows.findIndex((r) => r.includes(ROUTER));
  return fault >= 0 && router > fault;
};

test.describe('plugin', () => {
  test('shows the workloads’ filter chains and turns the demo’s fault plugin on from the editor', async ({
    login,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    const plugins = new PluginPage(page);
    await login('editor');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Plugins' })).toBeVisible();
    for (const w of ['details', 'productpage', 'ratings', 'reviews'])
      await expect(plugins.row(w)).toContainText('default');
    await expect(plugins.row('ratings').locator('[data-column="plugins"]')).toContainText(
      'PluginManager ratings-fault: 0/1 on',
    );

    const detail = await plugins.open('default', 'ratings');
    const inbound = plugins.inboundChain(detail, 'default/ratings', 9080);
    await expect(inbound).toBeVisible();
    const before = await plugins.filterNames(inbound);
    expect(before.at(-1)).toBe(ROUTER);
    await expect(inbound).not.toContainText('PluginManager default/ratings-fault');
    await checkAccessibility();

    // The demo's PluginManager, off: turned on in the YAML, checked as typed, previewed, applied.
    await detail.getByRole('button', { name: 'Edit PluginManager ratings-fault' }).click();
    await expect(plugins.editor).toBeVisible();
    await expect(page.getByRole('textbox', { name: 'Plugin YAML' })).toContainText('enable: false');
    const yaml = await plugins.yaml();
    await plugins.setYaml(
      yaml.replace('http_status: 503', 'http_statu: 503').replace('enable: false', 'enable: true'),
    );
    await expect(plugins.editor.getByRole('list', { name: 'Problems' })).toContainText('http_status');
    await plugins.setYaml(yaml.replace('enable: false', 'enable: true'));
    await plugins.waitChecked();
    await expect(plugins.editor.getByRole('region', { name: 'Problems' })).toContainText(
      'No problems found.',
    );

    await plugins.editor.getByRole('button', { name: 'Preview' }).click();
    const preview = plugins.editor.getByRole('region', { name: 'Preview' });
    await expect(preview.getByRole('heading', { name: 'EnvoyFilter ratings-fault: changed' })).toBeVisible();
    await expect(preview.getByLabel('Diff of EnvoyFilter ratings-fault')).toContainText('INSERT_BEFORE');
    const planned = plugins.inboundChain(preview, 'default/ratings', 9080);
    expect(faultBeforeRouter(await plugins.filters(planned))).toBe(true);
    await saveScreenshot('plugin-preview');
    await checkAccessibility();
    await preview.getByRole('button', { name: 'Apply' }).click();
    await expect(plugins.editor.getByRole('status').filter({ hasText: 'Applied.' })).toBeVisible();

    // ratings' inbound chain: the fault filter before the router, put there by the PluginManager (other
    // EnvoyFilters, a SmartLimiter's, may insert theirs between them).
    await expect
      .poll(async () => faultBeforeRouter(await plugins.filters(inbound)), { timeout: 15_000 })
      .toBe(true);
    await expect(plugins.row('ratings').locator('[data-column="plugins"]')).toContainText(
      'PluginManager ratings-fault: 1/1 on',
    );
    await saveScreenshot('plugin-applied');
    await checkAccessibility();

    // The same object in the form: the abort percentage, a field of the fault filter's schema, rewrites
    // the YAML and so what the preview would write.
    await plugins.editor.getByRole('tab', { name: 'Form' }).click();
    const numerator = plugins.setting(1, ['abort', 'percentage'], 'numerator');
    await expect(numerator).toHaveValue('50');
    await expect(plugins.editor.getByLabel('Filter', { exact: true })).toHaveValue(FAULT);
    await numerator.fill('30');
    await plugins.waitChecked();
    await expect(plugins.editor.getByRole('region', { name: 'Problems' })).toContainText(
      'No problems found.',
    );
    await saveScreenshot('plugin-form');
    await checkAccessibility();
    await plugins.editor.getByRole('tab', { name: 'YAML' }).click();
    await expect(page.getByRole('textbox', { name: 'Plugin YAML' })).toContainText('numerator: 30');
    await expect(page.getByRole('textbox', { name: 'Plugin YAML' })).toContainText('http_status: 503');
    await plugins.editor.getByRole('button', { name: 'Preview' }).click();
    const formPreview = plugins.editor.getByRole('region', { name: 'Preview' });
    await expect(formPreview.getByLabel('EnvoyFilter YAML')).toContainText('numerator: 30');
    await expect(formPreview.getByLabel('Diff of EnvoyFilter ratings-fault')).toContainText('30');
  });
});
