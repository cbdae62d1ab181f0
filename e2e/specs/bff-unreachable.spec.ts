import { expect, test } from '../fixtures';

test('explains how to start the BFF when it cannot be reached', async ({ dashboard }) => {
  await dashboard.goto();

  await expect(dashboard.heading).toBeVisible();
  await expect(dashboard.controlPlaneField('Status')).toHaveText('not reachable');
  await expect(dashboard.controlPlane).toContainText(
    /The BFF at http:\/\/127\.0\.0\.1:\d+ is not reachable: .*ECONNREFUSED.*\. Start it with \.\/scripts\/start/,
  );
  await expect(dashboard.controlPlaneField('Mode')).toHaveCount(0);
});
