import { expect, test } from '../fixtures';
import type { FanoutControls } from '../pages/fanout-panel';
import type { LimiterEditorPage } from '../pages/app-pages';

/** The reviews policy's fan-out as seeded: copied to west, and both copies synced. */
const SYNCED_BOTH = 'Synced in all 2 clusters: east, west.';

// East is the home cluster; west runs its own reviews. The demo's reviews policy names east and west, so
// it is copied to west: this spec takes it back to east alone, then gives it both clusters in the editor.
test.describe('policies across clusters', () => {
  test('a policy given clusters east and west is copied, and both show synced', async ({
    login,
    editor,
    fanout,
    page,
    saveScreenshot,
    checkAccessibility,
  }) => {
    await login('editor');
    await editor.open('default', 'reviews');
    await editor.tab('Form').click();
    try {
      // As seeded: both clusters chosen, both synced.
      await expect(fanout.mode('Chosen clusters')).toBeChecked();
      await expect(fanout.choice('east')).toBeChecked();
      await expect(fanout.choice('west')).toBeChecked();
      await expect(fanout.summary).toHaveText(SYNCED_BOTH, { timeout: 15_000 });

      // East only: the copy in west goes.
      await fanout.mode('This cluster only').check();
      expect(await editor.yaml()).not.toContain('governor.io/clusters');
      await editor.apply();
      await expect(fanout.summary).toHaveText(/^Not fanned out/, { timeout: 20_000 });

      // Both clusters again, chosen one by one.
      await editor.tab('Form').click();
      await fanout.mode('Chosen clusters').check();
      // The home cluster is chosen to start with: the policy is there anyway.
      await expect(fanout.choice('east')).toBeChecked();
      await expect(fanout.choice('west')).not.toBeChecked();
      await fanout.choice('west').check();
      expect(await editor.yaml()).toMatch(/governor\.io\/clusters: "?east,west"?\n/);
      await editor.apply();
      await expect(fanout.summary).toHaveText(SYNCED_BOTH, { timeout: 20_000 });
      await expect(fanout.row('east')).toContainText('synced');
      await expect(fanout.row('west')).toContainText('synced');
      // West's copy, reconciled by west's own control plane, carries its conditions.
      await expect(fanout.row('west').getByRole('cell').last()).toContainText(/\w+: (True|False|Unknown)/, {
        timeout: 20_000,
      });
      await saveScreenshot('fanout');
      await checkAccessibility();

      // West's copy, opened in its cluster: the editor reads it there, and says whose copy it is.
      await fanout.row('west').getByRole('link', { name: 'west' }).click();
      await expect(page).toHaveURL(/\/limiter\/edit\?namespace=default&name=reviews&cluster=west$/);
      await expect(page.getByText('In cluster west')).toBeVisible();
      await expect(page.getByRole('note')).toContainText('A copy of the policy in east');
      await expect(fanout.field).toHaveCount(0);
      expect(await editor.yaml()).toContain('governor.io/fanout-source: east');
    } finally {
      await bothClusters(editor, fanout);
    }
  });

  test('a cluster that is down is named as not synced, with the age of its last sync', async ({
    login,
    editor,
    fanout,
    whileDown,
  }) => {
    await login('admin');
    await editor.open('default', 'reviews');
    await expect(fanout.summary).toHaveText(SYNCED_BOTH, { timeout: 15_000 });
    await whileDown('west', async () => {
      await expect(fanout.summary).toHaveText('Not synced yet in west (unreachable).', { timeout: 15_000 });
      await expect(fanout.row('west')).toContainText('unreachable');
      await expect(fanout.row('west')).toContainText(/last synced (just now|\d+ s ago)/);
      await expect(fanout.row('east')).toContainText('synced');
    });
    await expect(fanout.summary).toHaveText(SYNCED_BOTH, { timeout: 20_000 });
  });

  test('a policy of west is written, previewed and applied in west, and east does not get it', async ({
    login,
    editor,
    fanout,
    page,
    api,
  }) => {
    await login('editor');
    await page.goto('/limiter/edit?namespace=default&service=ratings&cluster=west');
    await expect(page.getByRole('heading', { level: 2, name: 'New policy' })).toBeVisible();
    await expect(page.getByText('In cluster west')).toBeVisible();
    // Only the home cluster's policies fan out: no Clusters field here.
    await expect(fanout.field).toHaveCount(0);
    try {
      await page.getByLabel('Quota').fill('4');
      await editor.preview(/EnvoyFilter ratings\.default\.ratelimit: added/);
      await editor.apply();
      await expect(page).toHaveURL(/\/limiter\/edit\?namespace=default&name=ratings&cluster=west$/);
      await expect(page.getByRole('heading', { level: 2, name: 'default/ratings' })).toBeVisible();
      await expect(page.getByLabel('Quota')).toHaveValue('4');
      await expect(fanout.panel).toHaveCount(0);
      // West holds it; east, the home cluster, has no ratings policy.
      const west = await api.query('policies.get', {
        namespace: 'default',
        name: 'ratings',
        cluster: 'west',
      });
      expect(west.status()).toBe(200);
      expect(JSON.stringify(await west.json())).toContain('quota: \\"4\\"');
      const east = await api.query('policies.get', { namespace: 'default', name: 'ratings' });
      expect(east.status()).toBe(404);
    } finally {
      // Later specs create east's ratings policy: west's goes, so that nothing of it is left around.
      await api.mutate('policies.delete', { namespace: 'default', name: 'ratings', cluster: 'west' });
    }
  });
});

/** Later specs share the BFF: reviews goes back to east and west, as seeded, whatever happened above. */
async function bothClusters(editor: LimiterEditorPage, fanout: FanoutControls): Promise<void> {
  await editor.open('default', 'reviews');
  await editor.tab('Form').click();
  if (/governor\.io\/clusters: "?east,west"?\n/.test(await editor.yaml())) return;
  await editor.tab('Form').click();
  await fanout.mode('Chosen clusters').check();
  await fanout.choice('east').check();
  await fanout.choice('west').check();
  await editor.apply();
  await expect(fanout.summary).toHaveText(SYNCED_BOTH, { timeout: 20_000 });
}
