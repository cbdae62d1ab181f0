import { expect, test } from '../fixtures';

test.describe('overview', () => {
  test('after login lists the Bookinfo services with live traffic within 10 s', async ({
    login,
    overview,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    await login('editor');
    await overview.goto();
    for (const service of ['productpage', 'details', 'reviews', 'ratings'])
      await expect(overview.row(service)).toBeVisible();
    await expect.poll(() => overview.rps('productpage'), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => overview.rps('reviews'), { timeout: 10_000 }).toBeGreaterThan(0);
    // The figures are live: the decisions subscription delivers a second at a time.
    await expect(page.getByRole('status').filter({ hasText: /^Live/ })).toHaveText(
      'Live: updated every second',
    );
    await expect(page.getByRole('list', { name: 'Dependencies' })).toContainText('Store: ok');
    // Who calls whom, with the rates of the calls.
    const calls = page.getByRole('list', { name: 'Calls between services' });
    await expect(
      calls.getByRole('listitem').filter({ hasText: /productpage\s*→\s*reviews: [\d.]+ requests\/s/ }),
    ).toBeVisible({ timeout: 15_000 });
    await expect(calls.getByRole('listitem').filter({ hasText: /reviews\s*→\s*ratings/ })).toBeVisible();
    await expect(calls.getByRole('listitem').filter({ hasText: /productpage\s*→\s*reviews/ })).toContainText(
      /5xx, p95 \d+ ms \((healthy|degraded|failing)\)/,
    );
    // A node opens its side panel from the keyboard: figures, health, what governs it, where to go.
    const node = overview.topologyNode('reviews');
    await node.focus();
    await page.keyboard.press('Enter');
    await expect(node).toHaveAttribute('aria-expanded', 'true');
    const panel = overview.topologyPanel('reviews');
    await expect(panel).toBeVisible();
    await expect(panel).toContainText(/Health: (healthy|degraded|failing)/);
    await expect(panel.getByRole('list', { name: 'What governs reviews' })).toContainText(
      'Rate limit reviews',
    );
    await expect(panel.getByRole('link', { name: 'Service page of reviews' })).toHaveAttribute(
      'href',
      '/services/default/reviews',
    );
    await overview.topologyNode('rating-rpc').click();
    await expect(
      overview.topologyPanel('rating-rpc').getByRole('link', { name: 'RPC routing' }),
    ).toHaveAttribute('href', '/metarouter?service=default%2Frating-rpc');
    await saveScreenshot('overview');
    await checkAccessibility();
    await overview
      .topologyPanel('rating-rpc')
      .getByRole('button', { name: /^Close/ })
      .click();
    await expect(overview.topologyPanel('rating-rpc')).toHaveCount(0);
  });

  test('keeps the filter in the URL and says when nothing matches', async ({ login, overview, page }) => {
    await login('viewer');
    await page.goto('/?q=rev');
    await expect(overview.row('reviews')).toBeVisible();
    await expect(overview.row('details')).toHaveCount(0);
    await page.getByLabel('Search').fill('nothing-like-this');
    await expect(page).toHaveURL(/q=nothing-like-this/);
    await expect(page.getByText('No services match.')).toBeVisible();
  });

  test('sends a visitor without a session to the login page, and refuses a wrong token', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/login/);
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('main').getByRole('alert')).toContainText('not known');
  });
});
