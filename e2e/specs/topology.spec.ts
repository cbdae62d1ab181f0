import type { Locator } from '@playwright/test';
import { expect, test } from '../fixtures';

type Box = { x: number; y: number; width: number; height: number };
const within = (a: Box, b: Box) =>
  a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
const apart = (a: Box, b: Box) =>
  a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;

async function boxOf(l: Locator): Promise<Box> {
  const b = await l.boundingBox();
  expect(b, 'drawn').not.toBeNull();
  return b!;
}

// The embedded mesh: east (home, all of Bookinfo) and west (reviews and ratings), east's productpage
// calling reviews in both.
test.describe('topology over clusters', () => {
  test('boxes services by cluster, then namespace, and dashes the call that crosses clusters', async ({
    login,
    overview,
    topology,
    saveScreenshot,
    checkAccessibility,
  }) => {
    await login('viewer');
    await overview.goto();

    // A box per cluster, the home one marked, each with its namespace box and its own services.
    await expect(topology.cluster('east')).toHaveAccessibleName(/^Cluster east, home/);
    await expect(topology.cluster('west')).toHaveAccessibleName(/^Cluster west$/);
    for (const s of ['productpage', 'details', 'reviews', 'ratings'])
      await expect(topology.node('east', 'default', s)).toBeVisible();
    for (const s of ['reviews', 'ratings']) await expect(topology.node('west', 'default', s)).toBeVisible();
    await expect(
      topology.cluster('west').getByRole('button', { name: /^(productpage|details) / }),
    ).toHaveCount(0);

    // Drawn as nested boxes: each node inside its namespace box, inside its cluster box; clusters apart.
    const [east, west] = [await boxOf(topology.cluster('east')), await boxOf(topology.cluster('west'))];
    expect(apart(east, west)).toBe(true);
    for (const [cluster, box] of [
      ['east', east],
      ['west', west],
    ] as const) {
      const ns = await boxOf(topology.namespace(cluster, 'default'));
      expect(within(ns, box)).toBe(true);
      expect(within(await boxOf(topology.node(cluster, 'default', 'reviews')), ns)).toBe(true);
    }

    // The call from east's productpage to west's reviews: dashed in the graph, said so in the list.
    await expect(topology.edgeLine('east/default/productpage', 'west/default/reviews')).toHaveAttribute(
      'stroke-dasharray',
      /\d/,
      { timeout: 15_000 },
    );
    await expect(topology.edgeLine('east/default/productpage', 'east/default/reviews')).toHaveCount(1);
    await expect(topology.edgeLine('east/default/productpage', 'east/default/reviews')).not.toHaveAttribute(
      'stroke-dasharray',
      /./,
    );
    const across = topology.calls
      .getByRole('listitem')
      .filter({ hasText: /^productpage\s*⇢\s*reviews \(west\): [\d.]+ requests\/s/ });
    await expect(across).toContainText('across clusters');
    await expect(across.getByRole('link', { name: 'reviews (west)' })).toHaveAttribute(
      'href',
      '/services/default/reviews?cluster=west',
    );
    // Within east, the call reads as it always did.
    await expect(
      topology.calls.getByRole('listitem').filter({ hasText: /^productpage\s*→\s*reviews: / }),
    ).not.toContainText('across clusters');
    await expect(topology.legend).toContainText('call across clusters (dashed)');
    await expect(topology.legend).toContainText('home cluster');
    await saveScreenshot('topology-clusters');
    await checkAccessibility();
  });

  test('a node’s side panel names its cluster, and its links go to that cluster', async ({
    login,
    overview,
    topology,
  }) => {
    await login('viewer');
    await overview.goto();
    const westReviews = topology.node('west', 'default', 'reviews');
    await expect(westReviews).toHaveAccessibleName(/^reviews in default \(west\): /);
    await westReviews.click();
    await expect(westReviews).toHaveAttribute('aria-expanded', 'true');
    const panel = topology.panel('reviews');
    const where = panel.getByRole('definition');
    await expect(where.first()).toHaveText('west');
    await expect(where.nth(1)).toHaveText('default');
    await expect(panel.getByRole('link', { name: 'Service page of reviews' })).toHaveAttribute(
      'href',
      '/services/default/reviews?cluster=west',
    );
    await expect(panel.getByRole('list', { name: 'Calls of reviews' })).toContainText(
      /from productpage: [\d.]+\/s, \w+.*, across clusters/,
    );

    // East's reviews is another node, in the home cluster, whose links need no cluster.
    const eastReviews = topology.node('east', 'default', 'reviews');
    await eastReviews.click();
    await expect(westReviews).toHaveAttribute('aria-expanded', 'false');
    await expect(panel.getByRole('definition').first()).toHaveText('east (home)');
    await expect(panel.getByRole('link', { name: 'Service page of reviews' })).toHaveAttribute(
      'href',
      '/services/default/reviews',
    );
  });

  test('?cluster= asks the topology for that cluster only', async ({ login, topology, page }) => {
    await login('viewer');
    const asked = page.waitForRequest(
      (r) => r.url().includes('services.topology') && r.url().includes('west'),
    );
    await page.goto('/?cluster=west');
    await asked;
    await expect(topology.node('west', 'default', 'ratings')).toBeVisible();
    // East's details calls nothing in west and is called by nothing there: not drawn.
    await expect(topology.graph.getByRole('button', { name: /^details in / })).toHaveCount(0);
  });

  test('an unreachable cluster keeps its box, marked as such with the age of its last sync', async ({
    login,
    overview,
    topology,
    whileDown,
  }) => {
    await login('admin');
    await overview.goto();
    await expect(topology.cluster('west')).toHaveAccessibleName(/^Cluster west$/);
    await whileDown('west', async () => {
      await expect(topology.cluster('west')).toHaveAccessibleName(
        /^Cluster west, unreachable, last synced (just now|\d+ s ago)$/,
        { timeout: 15_000 },
      );
      await expect(topology.cluster('west')).toBeVisible();
      await expect(topology.cluster('east')).toHaveAccessibleName(/^Cluster east, home$/);
      await expect(topology.legend).toContainText('unreachable cluster');
    });
    await expect(topology.cluster('west')).toHaveAccessibleName(/^Cluster west$/, { timeout: 15_000 });
  });
});
