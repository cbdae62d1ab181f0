import { MetaRouterPage } from '../pages/metarouter-page';
import { expect, test } from '../fixtures';

const HOST = 'rating-rpc.default.svc.cluster.local';
const ROUTE_CONFIG = `${HOST}_9090`;

test.describe('metarouter', () => {
  test('shows rating-rpc’s calls by method and changes its split from the form', async ({
    login,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    const mr = new MetaRouterPage(page);
    await login('editor');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'RPC routing' }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'MetaProtocol routing' })).toBeVisible();
    await expect(mr.row(HOST).locator('[data-column="protocol"]')).toHaveText('thrift');
    await expect(mr.row(HOST).locator('[data-column="metarouter"]')).toContainText('default/rating-rpc');
    await expect(mr.row(HOST).locator('[data-column="ready"]')).toHaveText('True');
    await checkAccessibility();

    // Its calls by method, live: the demo mesh's ratings call it all the time.
    const detail = await mr.open('rating-rpc', HOST);
    await expect
      .poll(async () => (await mr.callRates(detail)).some((r) => r > 0), { timeout: 15_000 })
      .toBe(true);
    await expect(detail.getByRole('table', { name: 'Calls by method' })).toContainText('getRating');
    await expect(detail.getByRole('list', { name: 'Traffic split by subset' })).toContainText('v2');
    await saveScreenshot('metarouter-service');
    await checkAccessibility();

    // The 80/20 split, edited in the form: 70/20 is refused, 70/30 checks out.
    await expect(mr.editor.getByRole('tab', { name: 'Form', selected: true })).toBeVisible();
    await expect(mr.weight(2, 1)).toHaveValue('80');
    await mr.weight(2, 1).fill('70');
    await expect(mr.problems.getByRole('list', { name: 'Problems' })).toContainText(
      'weights add up to 90, not 100',
    );
    await expect(mr.editor.getByRole('button', { name: 'Preview' })).toBeDisabled();
    await mr.weight(2, 2).fill('30');
    await mr.waitChecked();
    await expect(mr.problems).toContainText('No problems found.');
    await checkAccessibility();

    await mr.editor.getByRole('button', { name: 'Preview' }).click();
    const preview = mr.editor.getByRole('region', { name: 'Preview' });
    await expect(
      preview.getByRole('heading', { name: `Route configuration ${ROUTE_CONFIG}: changed` }),
    ).toBeVisible();
    await expect(preview.getByLabel(`Diff of route configuration ${ROUTE_CONFIG}`)).toContainText(
      'weight: 70',
    );
    await expect(preview.getByLabel('Diff of the MetaRouter')).toContainText('+ weight: 30');
    await saveScreenshot('metarouter-preview');
    await checkAccessibility();

    await mr.apply();
    const history = mr.editor.getByRole('region', { name: 'History' });
    await expect(history.getByRole('listitem').first()).toContainText('apply by erin');
    await history.getByRole('listitem').first().getByText('Diff').click();
    await expect(history.getByRole('listitem').first()).toContainText('weight: 70');
    await mr.editor.getByRole('tab', { name: 'YAML' }).click();
    // CodeMirror renders the lines in view only: the top of the applied object.
    await expect(page.getByRole('textbox', { name: 'MetaRouter YAML' })).toContainText('kind: MetaRouter');
    await saveScreenshot('metarouter-applied');
    await checkAccessibility();
  });
});
