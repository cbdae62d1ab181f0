import type { Locator, Page } from '@playwright/test';

/** The limiter editor's Clusters field and its fan-out panel. */
export class FanoutControls {
  readonly field: Locator;
  readonly panel: Locator;
  readonly summary: Locator;
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.field = page.getByRole('group', { name: 'Clusters', exact: true });
    this.panel = page.getByRole('region', { name: 'Fan-out' });
    this.summary = this.panel.getByRole('status');
    this.table = this.panel.getByRole('table', { name: 'Fan-out by cluster' });
  }

  mode(label: 'This cluster only' | 'All clusters (*)' | 'Chosen clusters'): Locator {
    return this.field.getByRole('radio', { name: label, exact: true });
  }

  /** A cluster's checkbox, once "Chosen clusters" is on. */
  choice(cluster: string): Locator {
    return this.field.getByRole('checkbox', { name: new RegExp(`^${cluster}( \\(|$)`) });
  }

  /** A cluster's row in the panel's table. */
  row(cluster: string): Locator {
    return this.table
      .getByRole('row')
      .filter({ has: this.page.getByRole('rowheader', { name: new RegExp(`^${cluster}( \\(home\\))?$`) }) });
  }
}
