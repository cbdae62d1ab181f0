import type { Locator, Page } from '@playwright/test';

/** The dashboard's overview page, addressed the way a screen reader user would find things. */
export class DashboardPage {
  readonly heading: Locator;
  readonly navigation: Locator;
  readonly controlPlane: Locator;
  readonly cliPreview: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('banner').getByRole('heading', { level: 1, name: 'Governor' });
    this.navigation = page.getByRole('navigation', { name: 'Main' });
    this.controlPlane = page.getByRole('main').getByRole('region', { name: 'Control plane' });
    this.cliPreview = page.getByRole('region', { name: 'Preview a policy from the command line' });
  }

  async goto(): Promise<void> {
    await this.page.goto('/');
  }

  /**
   * The value shown for one term of the control-plane card, such as "Status" or "Mode". ARIA forbids
   * naming a definition, so this finds the term by role and takes the definition that follows it, which
   * is how a description list pairs them.
   */
  controlPlaneField(term: string): Locator {
    return this.controlPlane
      .getByRole('term')
      .filter({ hasText: new RegExp(`^${escapeRegExp(term)}$`) })
      .locator('xpath=following-sibling::dd[1]');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
