import { expect, test } from '../fixtures';

test.describe('dashboard with the BFF running', () => {
  test.beforeEach(async ({ dashboard }) => {
    await dashboard.goto();
  });

  test('shows the product name and its navigation', async ({ dashboard }) => {
    await expect(dashboard.heading).toBeVisible();
    await expect(dashboard.navigation.getByRole('link', { name: 'Overview' })).toHaveAttribute(
      'aria-current',
      'page',
    );
  });

  test('shows the control plane connected in embedded mode', async ({ dashboard }) => {
    await expect(dashboard.controlPlane).toBeVisible();
    await expect(dashboard.controlPlaneField('Status')).toHaveText('connected');
    await expect(dashboard.controlPlaneField('Mode')).toContainText('embedded');
    await expect(dashboard.controlPlaneField('Version')).toHaveText(/^\d+\.\d+\.\d+/);
  });

  test('shows how to preview a policy from the command line', async ({ dashboard }) => {
    await expect(dashboard.cliPreview.getByRole('code')).toHaveText(
      'pnpm -s governor render -f limiter.yaml -f context.yaml',
    );
  });
});
