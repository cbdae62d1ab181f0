import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type Page } from '@playwright/test';
import { DashboardPage } from './pages/dashboard-page';
import { LimiterEditorPage, LimiterListPage, LoginPage, OverviewPage, ServicePage } from './pages/app-pages';
import { E2E_USERS } from './playwright.config';

interface Fixtures {
  dashboard: DashboardPage;
  login: (role: keyof typeof E2E_USERS) => Promise<void>;
  overview: OverviewPage;
  servicePage: ServicePage;
  editor: LimiterEditorPage;
  limiterList: LimiterListPage;
  /** Fails on serious or critical accessibility violations of the page as it is. */
  checkAccessibility: (page?: Page) => Promise<void>;
  /** Saves a full-page screenshot among the test's artifacts. */
  saveScreenshot: (name: string) => Promise<void>;
}

export const test = base.extend<Fixtures>({
  dashboard: async ({ page }, use) => use(new DashboardPage(page)),
  login: async ({ page }, use) => use((role) => new LoginPage(page).login(E2E_USERS[role].token)),
  overview: async ({ page }, use) => use(new OverviewPage(page)),
  servicePage: async ({ page }, use) => use(new ServicePage(page)),
  editor: async ({ page }, use) => use(new LimiterEditorPage(page)),
  limiterList: async ({ page }, use) => use(new LimiterListPage(page)),
  checkAccessibility: async ({ page }, use) =>
    use(async (p = page) => {
      const results = await new AxeBuilder({ page: p }).analyze();
      const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(
        serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
      ).toEqual([]);
    }),
  saveScreenshot: async ({ page }, use, testInfo) =>
    use(async (name) => {
      await testInfo.attach(name, {
        body: await page.screenshot({ fullPage: true }),
        contentType: 'image/png',
      });
    }),
});

export { expect };
