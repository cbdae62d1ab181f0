import { expect, type Locator, type Page } from '@playwright/test';

/** MetaProtocol routing: the services, one's live calls and subscriptions, and its MetaRouter editor. */
export class MetaRouterPage {
  readonly table: Locator;
  readonly editor: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByRole('table', { name: 'MetaProtocol services' });
    this.editor = page.getByRole('region', { name: /^(New )?MetaRouter / });
  }

  row(host: string): Locator {
    return this.table
      .getByRole('row')
      .filter({ has: this.page.getByRole('rowheader', { name: host, exact: true }) });
  }

  /** A service's detail, opened from its row. */
  async open(name: string, host: string): Promise<Locator> {
    await this.row(host)
      .getByRole('button', { name: `Show ${name}` })
      .click();
    const detail = this.page.getByRole('region', { name: host, exact: true });
    await expect(detail).toBeVisible();
    return detail;
  }

  /** The calls per second of each row of the per-method table. */
  async callRates(detail: Locator): Promise<number[]> {
    const cells = detail.getByRole('table', { name: 'Calls by method' }).locator('[data-column="rps"]');
    return (await cells.allInnerTexts()).map(Number);
  }

  weight(route: number, destination: number): Locator {
    return this.editor.getByLabel(`Route ${route} destination ${destination} weight`, { exact: true });
  }

  get problems(): Locator {
    return this.editor.getByRole('region', { name: 'Problems' });
  }

  async waitChecked(): Promise<void> {
    await expect(this.problems.getByRole('status')).not.toHaveText('Checking…');
  }

  async apply(): Promise<void> {
    await this.waitChecked();
    await this.editor.getByRole('button', { name: 'Apply…' }).click();
    await this.editor.getByRole('alertdialog').getByRole('button', { name: 'Apply now' }).click();
    await expect(this.editor.getByRole('status').filter({ hasText: 'Applied.' })).toBeVisible();
  }
}
