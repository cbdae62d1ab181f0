import { expect, test } from '../fixtures';
import type { ClustersPage } from '../pages/clusters-page';

// The embedded mesh has two clusters: east (home, all of Bookinfo) and west (reviews and ratings).
test.describe('clusters', () => {
  test('the cluster filter shows one cluster’s rows, and the URL keeps it', async ({
    login,
    overview,
    limiterList,
    clusters,
    page,
  }) => {
    await login('viewer');
    await overview.goto();
    // Every cluster at first: east's productpage is there.
    await expect(overview.row('productpage')).toBeVisible();
    await expect(clusters.filter()).toHaveValue('');

    await clusters.filter().selectOption('west');
    await expect(page).toHaveURL(/[?&]cluster=west(&|$)/);
    const westOnly = async () => {
      await expect(overview.row('reviews', 'west')).toBeVisible();
      await expect(overview.row('ratings', 'west')).toBeVisible();
      await expect(overview.row('productpage', 'east')).toHaveCount(0);
      await expect(overview.row('details', 'east')).toHaveCount(0);
      await expect(overview.row('reviews', 'east')).toHaveCount(0);
      const cells = overview.table.locator('tbody [data-column="cluster"]');
      await expect(cells.first()).toHaveText('west');
      await expect(cells.filter({ hasNotText: /^west$/ })).toHaveCount(0);
    };
    await westOnly();
    // A link to a service names its cluster.
    await expect(
      overview.row('reviews', 'west').getByRole('link', { name: 'reviews', exact: true }),
    ).toHaveAttribute('href', '/services/default/reviews?cluster=west');

    await page.reload();
    await expect(page).toHaveURL(/[?&]cluster=west(&|$)/);
    await expect(clusters.filter()).toHaveValue('west');
    await westOnly();

    // The service page is west's reviews: its two pods (v2 and v3) there, east's reviews has three.
    await overview.row('reviews', 'west').getByRole('link', { name: 'reviews', exact: true }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'reviews' })).toBeVisible();
    await expect(page).toHaveURL(/\/services\/default\/reviews\?cluster=west$/);
    await expect(page.getByText(/^\d+ of 2 pods running/)).toBeVisible();

    // The navigation keeps the filter: the policy list shows west's policies only (west may have none).
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await expect(page).toHaveURL(/\/limiter\?cluster=west$/);
    await expect(clusters.filter()).toHaveValue('west');
    await expect(page.getByRole('status').filter({ hasText: 'Loading policies…' })).toHaveCount(0);
    const policyClusters = limiterList.table.locator('tbody [data-column="cluster"]');
    await expect(policyClusters.filter({ hasNotText: /^west$/ })).toHaveCount(0);

    // Back to every cluster: east's rows again, and no cluster in the URL.
    await clusters.filter().selectOption('');
    await expect(page).not.toHaveURL(/cluster=/);
    await expect(policyClusters.filter({ hasText: /^east$/ }).first()).toBeVisible();
  });

  test('an outage of west is named in a banner on every page until it is restored', async ({
    login,
    overview,
    clusters,
    page,
    checkAccessibility,
    saveScreenshot,
  }) => {
    await login('admin');
    await clusters.goto();
    await expect(clusters.row('east')).toContainText('home');
    await expect(clusters.cell('west', 'reachable')).toHaveText(/^Yes/);
    await expect(clusters.banner).toHaveCount(0);
    try {
      await clusters.outageButton('west', 'Simulate outage').click();

      const line = clusters.bannerLine('west');
      await expect(line).toContainText(
        /Cluster west is unreachable — last synced (just now|\d+ s ago|\d+ min ago)/,
      );
      await expect(clusters.bannerLine('east')).toHaveCount(0);
      await expect(clusters.cell('west', 'reachable')).toHaveText(/^No/);
      await expect(clusters.cell('east', 'reachable')).toHaveText(/^Yes/);
      // The age goes on ticking between two polls.
      const age = async () => /last synced (.*? ago|just now)/.exec(await line.innerText())?.[1];
      const first = await age();
      await expect.poll(age, { timeout: 5_000 }).not.toBe(first);
      await saveScreenshot('clusters-west-down');
      await checkAccessibility();

      // Elsewhere: the banner stays, and east's services are still shown with live traffic.
      await page.goto('/?cluster=east');
      await expect(clusters.bannerLine('west')).toBeVisible();
      await expect(overview.row('productpage')).toBeVisible();
      await expect.poll(() => overview.rps('productpage'), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.goto('/limiter?cluster=east');
      await expect(clusters.bannerLine('west')).toBeVisible();
      await expect(page.getByRole('table', { name: 'SmartLimiters' }).getByRole('row')).not.toHaveCount(0);

      await clusters.goto();
      await clusters.outageButton('west', 'Restore').click();
      await expect(clusters.banner).toHaveCount(0, { timeout: 15_000 });
      await expect(clusters.cell('west', 'reachable')).toHaveText(/^Yes/);
    } finally {
      // Later tests share the BFF: leave west reachable whatever happened above.
      await restoreIfDown(clusters);
    }
  });

  test('only an admin is offered an outage', async ({ login, clusters }) => {
    await login('editor');
    await clusters.goto();
    await expect(clusters.row('west')).toBeVisible();
    await expect(clusters.table.getByRole('button')).toHaveCount(0);
  });
});

async function restoreIfDown(clusters: ClustersPage): Promise<void> {
  await clusters.goto();
  const restore = clusters.outageButton('west', 'Restore');
  if ((await restore.count()) > 0) {
    await restore.click();
    await expect(clusters.cell('west', 'reachable')).toHaveText(/^Yes/, { timeout: 15_000 });
  }
}
