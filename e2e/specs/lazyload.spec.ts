import { LazyloadPage } from '../pages/app-pages';
import { expect, test } from '../fixtures';

test.describe('lazyload', () => {
  test('lists the workloads, fences one with a preview, and shows its Sidecar hosts with reasons', async ({
    login,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    const lazyload = new LazyloadPage(page);
    await login('editor');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Lazy loading' }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Lazy loading' })).toBeVisible();
    for (const w of ['details', 'productpage', 'ratings', 'reviews'])
      await expect(lazyload.row(w)).toContainText('default');
    await expect(lazyload.row('details').locator('[data-column="fence"]')).toHaveText('Not fenced');
    await checkAccessibility();

    const detail = await lazyload.open('default', 'details');
    await expect(detail).toContainText('No ServiceFence');
    const preview = await lazyload.previewFence(detail);
    await expect(preview.getByRole('heading', { name: 'Sidecar/details: added' })).toBeVisible();
    await expect(preview.getByLabel('Diff of Sidecar/details')).toContainText('istio-system/*');
    await preview.getByText('What it writes (YAML)').click();
    await expect(preview.getByLabel('Sidecar YAML')).toContainText('kind: Sidecar');
    await saveScreenshot('lazyload-preview');
    await checkAccessibility();
    await preview.getByRole('button', { name: 'Apply fence' }).click();

    await expect(lazyload.row('details').locator('[data-column="fence"]')).toHaveText('Fenced', {
      timeout: 15_000,
    });
    await expect(lazyload.hostRow(detail, 'istio-system/*')).toContainText("Istio's namespace");
    await expect(lazyload.hosts(detail)).toContainText("Governor's namespace");
    const without = Number(await lazyload.row('details').locator('[data-column="without"]').innerText());
    const withFence = Number(await lazyload.row('details').locator('[data-column="with"]').innerText());
    expect(withFence).toBeLessThan(without);
    await expect(detail.getByRole('button', { name: 'Enable fence' })).toHaveCount(0);
    await saveScreenshot('lazyload-fenced');
    await checkAccessibility();

    // The overview's topology badges the fenced workload.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    const graph = page.getByRole('group', { name: 'Topology graph' });
    await expect(graph.getByRole('button', { name: /lazyload fence, \d+ egress hosts/ })).toHaveCount(1, {
      timeout: 15_000,
    });
  });
});
