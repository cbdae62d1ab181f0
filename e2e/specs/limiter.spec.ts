import { expect, test } from '../fixtures';

test.describe('limiter', () => {
  test('creates a policy through the form, previews it, applies it, and the service gets limited', async ({
    login,
    servicePage,
    editor,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    await login('editor');
    await servicePage.goto('default', 'ratings');
    await saveScreenshot('service');
    await checkAccessibility();
    await page.getByRole('link', { name: 'New policy' }).click();
    await expect(editor.tab('Form')).toHaveAttribute('aria-selected', 'true');
    await page.getByLabel('Quota').fill('5');
    await page.getByLabel('Strategy').selectOption('single');
    await editor.preview(/EnvoyFilter ratings\.default\.ratelimit: added/);
    // The patches land on the ratings Pod's inbound chain for 9080, as istiod would apply them.
    const placement = page.getByRole('group', { name: 'Where istiod applies it' });
    await expect(placement.getByLabel('On the Pod')).toHaveValue(/^default\/ratings-/);
    await expect(placement.getByRole('row', { name: /HTTP_FILTER INSERT_BEFORE/ })).toContainText(
      'listener virtualInbound, filter chain 0.0.0.0_9080',
    );
    await expect(placement.getByRole('alert')).toHaveCount(0);
    await saveScreenshot('editor-preview');
    await checkAccessibility();
    await editor.apply();
    await expect(page.getByRole('heading', { level: 2, name: 'default/ratings' })).toBeVisible();
    await servicePage.goto('default', 'ratings');
    await expect
      .poll(async () => Number(await servicePage.figure('Limited/s').innerText()), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect(servicePage.policy('ratings')).toContainText('Ready', { timeout: 15_000 });
  });

  test('warns before applying a limit whose route istiod would not find', async ({ login, editor, page }) => {
    await login('editor');
    await editor.open('default', 'productpage');
    // Calls from productpage to reviews on port 80: reviews serves 9080, so istiod has no such virtual host.
    const yaml = await editor.yaml();
    const target = /target:\s*\{\s*port:\s*9080\s*\}|target:\n\s+port: 9080/.exec(yaml);
    expect(target, yaml).not.toBeNull();
    await editor.setYaml(
      yaml.replace(
        target![0],
        'target: {direction: outbound, port: 80, route: [reviews.default.svc.cluster.local/default]}',
      ),
    );
    await editor.waitChecked();
    await editor.button('Preview').click();
    const placement = page.getByRole('group', { name: 'Where istiod applies it' });
    await expect(placement.getByRole('alert')).toContainText(/match(es)? nothing on this Pod/);
    await expect(placement.getByRole('row', { name: /HTTP_ROUTE/ }).first()).toContainText(
      'reviews.default.svc.cluster.local:80',
    );
  });

  test('names an unknown metric inline as you type and disables apply', async ({ login, editor, page }) => {
    await login('editor');
    await editor.open('default', 'reviews');
    const yaml = await editor.yaml();
    await editor.setYaml(yaml.replace('{{._base.cpu.percent}}', '{{._base.cpu.percnt}}'));
    await expect(editor.problems).toContainText('cpu.percnt');
    await expect(editor.problems).toContainText(/line \d+/);
    await expect(editor.button('Apply…')).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Preview' })).toBeDisabled();
  });

  test('edits the quota, shows the diff, applies, and rolls back from the history', async ({
    login,
    editor,
    page,
  }) => {
    await login('editor');
    await editor.open('default', 'details');
    await page.getByLabel('Quota').fill('9');
    await editor.waitChecked();
    await editor.button('Preview').click();
    await page.getByText('Changes to the SmartLimiter').click();
    const diff = page.getByLabel('Diff of the policy');
    await expect(diff).toContainText(/\+\s+quota: "9"/);
    await expect(diff).toContainText(/-\s+quota: "5"/);
    await editor.apply();
    const history = page.getByRole('region', { name: 'History' });
    await expect(history.getByRole('listitem')).toHaveCount(1);
    // Apply once more, then roll back to the first applied version.
    await page.getByLabel('Quota').fill('12');
    await editor.apply();
    await expect(history.getByRole('listitem')).toHaveCount(2);
    const first = history.getByRole('listitem').last();
    await first.getByRole('button', { name: /Roll back to version/ }).click();
    await expect(history.getByRole('listitem')).toHaveCount(3);
    await expect(history.getByRole('listitem').first()).toContainText('rollback');
    await expect(page.getByLabel('Quota')).toHaveValue('9');
  });

  test('a viewer sees no edit controls, and a direct change is refused', async ({
    login,
    editor,
    page,
    api,
    saveScreenshot,
  }) => {
    await login('viewer');
    await editor.open('default', 'productpage');
    await expect(page.getByText('Read-only')).toBeVisible();
    await expect(editor.button('Apply…')).toHaveCount(0);
    await expect(page.getByRole('button', { name: /Roll back/ })).toHaveCount(0);
    await saveScreenshot('policy-viewer');
    const before = await editor.yaml();
    const res = await api.mutate('policies.delete', { namespace: 'default', name: 'productpage' });
    expect(res.status()).toBe(403);
    await page.reload();
    expect(await editor.yaml()).toBe(before);
  });

  test('the policy list explains each status', async ({
    login,
    limiterList,
    checkAccessibility,
    saveScreenshot,
  }) => {
    await login('viewer');
    await limiterList.goto();
    await expect(limiterList.table.getByRole('row').filter({ hasText: 'details' })).toContainText(
      /Ready|Not ready/,
    );
    await saveScreenshot('policies');
    await checkAccessibility();
  });

  test('builds a condition from lists, which the YAML tab shows and the BFF accepts', async ({
    login,
    editor,
    page,
  }) => {
    await login('editor');
    await editor.openNew('default', 'ratings');
    await page.getByLabel('When').selectOption('qps');
    await page.getByRole('combobox', { name: /^is/ }).selectOption('>=');
    await page.getByLabel('Threshold').fill('12');
    await editor.waitChecked();
    await expect(editor.status).toHaveText('No problems found.');
    expect(await editor.yaml()).toContain('condition: "{{._base.qps}}>=12"');
    await editor.tab('Form').click();
    await expect(page.getByLabel('When')).toHaveValue('qps');
  });

  test('a form edit keeps every field the form does not show', async ({ login, editor, page }) => {
    await login('editor');
    await editor.open('default', 'details');
    const yaml = await editor.yaml();
    // Fields the form has no control for, in both of the spellings Slime accepts.
    const written = yaml
      .replace(/namespace: default\n/, 'namespace: default\n  labels:\n    team: bookinfo\n')
      .replace(/fill_interval:\n(\s+)seconds: 1/, 'fillInterval:\n$1seconds: 60')
      .replace(/\n(\s+)- exact_match: bot/, '\n$1- exact_match: bot\n$1  invert_match: true')
      .replace(/spec:\n/, 'spec:\n  workloadSelector:\n    app: details\n');
    expect(written).toContain('fillInterval');
    expect(written).toContain('invert_match: true');
    await editor.setYaml(written);
    await editor.waitChecked();
    await editor.tab('Form').click();
    await expect(page.getByLabel('Per (seconds)')).toHaveValue('60');
    await page.getByLabel('Quota').fill('7');
    // The text as it was, the quota aside: nothing dropped, renamed or reformatted.
    const after = await editor.yaml();
    expect(after.trimEnd()).toBe(written.replace(/(quota: "?)\d+/, '$17').trimEnd());
  });

  test('the former /policies addresses redirect for good, keeping the query', async ({
    login,
    page,
    baseURL,
  }) => {
    const moved = await page.request.get(`${baseURL}/policies/edit?namespace=default&name=details`, {
      maxRedirects: 0,
    });
    expect(moved.status()).toBe(308);
    expect(moved.headers()['location']).toBe('/limiter/edit?namespace=default&name=details');
    await login('viewer');
    await page.goto('/policies');
    await expect(page).toHaveURL(/\/limiter$/);
    await expect(page.getByRole('link', { name: 'Policies', exact: true })).toHaveAttribute(
      'aria-current',
      'page',
    );
    await page.goto('/policies/edit?namespace=default&name=details');
    await expect(page).toHaveURL(/\/limiter\/edit\?namespace=default&name=details$/);
    await expect(page.getByRole('heading', { level: 2, name: 'default/details' })).toBeVisible();
  });
});
