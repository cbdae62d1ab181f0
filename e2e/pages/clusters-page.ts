import { expect, type Locator, type Page } from '@playwright/test';

/** The Clusters page, the banner naming unreachable clusters, and the cluster filter of the lists. */
export class ClustersPage {
  readonly table: Locator;
  /** The banner under the header, on every page, while a cluster cannot be reached. */
  readonly banner: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByRole('table', { name: 'Clusters' });
    this.banner = page.getByRole('region', { name: 'Unreachable clusters' });
  }

  async goto(): Promise<void> {
    await this.page.goto('/clusters');
    await expect(this.page.getByRole('heading', { level: 2, name: 'Clusters' })).toBeVisible();
  }

  row(cluster: string): Locator {
    return this.table
      .getByRole('row')
      .filter({ has: this.page.getByRole('rowheader', { name: new RegExp(`^${cluster}\\b`) }) });
  }

  cell(cluster: string, column: string): Locator {
    return this.row(cluster).locator(`[data-column="${column}"]`);
  }

  /** "Simulate outage" or "Restore", for one cluster. */
  outageButton(cluster: string, action: 'Simulate outage' | 'Restore'): Locator {
    return this.row(cluster).getByRole('button', { name: `${action} of ${cluster}`, exact: true });
  }

  /** The banner's line about one cluster. */
  bannerLine(cluster: string): Locator {
    return this.banner.getByRole('listitem').filter({ hasText: `Cluster ${cluster} is unreachable` });
  }

  /** The cluster filter of the page shown (a list page). */
  filter(): Locator {
    return this.page.getByRole('combobox', { name: 'Cluster', exact: true });
  }
}
