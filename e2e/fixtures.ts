import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type APIResponse, type Page } from '@playwright/test';
import { ClustersPage } from './pages/clusters-page';
import { DashboardPage } from './pages/dashboard-page';
import { FanoutControls } from './pages/fanout-panel';
import { LimiterEditorPage, LimiterListPage, LoginPage, OverviewPage, ServicePage } from './pages/app-pages';
import { TopologyView } from './pages/topology-page';
import { E2E_USERS } from './playwright.config';

interface Fixtures {
  dashboard: DashboardPage;
  login: (role: keyof typeof E2E_USERS) => Promise<void>;
  overview: OverviewPage;
  servicePage: ServicePage;
  editor: LimiterEditorPage;
  limiterList: LimiterListPage;
  clusters: ClustersPage;
  topology: TopologyView;
  fanout: FanoutControls;
  /** The API as the page's session calls it: its cookie, the dashboard's origin. */
  api: {
    mutate: (procedure: string, input: object) => Promise<APIResponse>;
    query: (procedure: string, input: object) => Promise<APIResponse>;
  };
  /**
   * Runs `body` while `cluster` is down, as an admin's simulated outage (log in as one first). The
   * cluster comes back whatever happens: later specs share the BFF.
   */
  whileDown: (cluster: string, body: () => Promise<void>) => Promise<void>;
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
  clusters: async ({ page }, use) => use(new ClustersPage(page)),
  topology: async ({ page }, use) => use(new TopologyView(page)),
  fanout: async ({ page }, use) => use(new FanoutControls(page)),
  api: async ({ page, baseURL }, use) =>
    use({
      mutate: (procedure, input) =>
        page.request.post(`${baseURL}/trpc/${procedure}`, {
          data: input,
          headers: { origin: baseURL!, 'content-type': 'application/json' },
        }),
      query: (procedure, input) =>
        page.request.get(`${baseURL}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`),
    }),
  whileDown: async ({ api }, use) =>
    use(async (cluster, body) => {
      const outage = async (down: boolean) =>
        expect((await api.mutate('clusters.simulateOutage', { cluster, down })).status()).toBe(200);
      try {
        await outage(true);
        await body();
      } finally {
        await outage(false);
      }
    }),
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
