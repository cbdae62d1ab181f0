import { expect, type Locator, type Page } from '@playwright/test';

/** The embedded mesh's home cluster: every list shows every cluster's rows, and tests mostly mean its. */
export const HOME_CLUSTER = 'east';

/** The rows whose Cluster column says `cluster`. */
function inCluster(page: Page, rows: Locator, cluster: string): Locator {
  return rows.filter({
    has: page.locator('[data-column="cluster"]', { hasText: new RegExp(`^${cluster}$`) }),
  });
}

/** The login page. */
export class LoginPage {
  constructor(readonly page: Page) {}

  async login(token: string): Promise<void> {
    await this.page.goto('/login');
    await this.page.getByLabel('Token').fill(token);
    await this.page.getByRole('button', { name: 'Log in' }).click();
    await expect(this.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  }
}

/** The overview: every service with its live figures. */
export class OverviewPage {
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByRole('table', { name: 'Services with live traffic' });
  }

  async goto(): Promise<void> {
    await this.page.goto('/');
  }

  /** A service's row; by default the home cluster's (east, in the embedded mesh). */
  row(service: string, cluster = HOME_CLUSTER): Locator {
    return inCluster(
      this.page,
      this.table
        .getByRole('row')
        .filter({ has: this.page.getByRole('rowheader', { name: new RegExp(`^${service}\\b`) }) }),
      cluster,
    );
  }

  /** The live requests per second shown for a service. */
  async rps(service: string, cluster = HOME_CLUSTER): Promise<number> {
    return Number(await this.row(service, cluster).locator('[data-column="rps"]').innerText());
  }

  /** A service's node in the topology graph: a button named after the service and its namespace. */
  topologyNode(service: string, namespace = 'default'): Locator {
    return this.page
      .getByRole('group', { name: 'Topology graph' })
      .getByRole('button', { name: new RegExp(`^${service} in ${namespace}:`) });
  }

  /** The side panel a node opens, headed with the service's name. */
  topologyPanel(service: string): Locator {
    return this.page.getByRole('region', { name: service, exact: true });
  }
}

/** A service's page. */
export class ServicePage {
  constructor(readonly page: Page) {}

  async goto(namespace: string, name: string): Promise<void> {
    await this.page.goto(`/services/${namespace}/${name}`);
    await expect(this.page.getByRole('heading', { level: 2, name })).toBeVisible();
  }

  figure(label: 'Allowed/s' | 'Limited/s' | 'p99 (ms)' | 'CPU %'): Locator {
    return this.page.getByRole('definition').and(this.page.getByLabel(label, { exact: true }));
  }

  policy(name: string): Locator {
    return this.page
      .getByRole('region', { name: 'Policies' })
      .getByRole('listitem')
      .filter({ hasText: name });
  }
}

/** The SmartLimiter list. */
export class LimiterListPage {
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByRole('table', { name: 'SmartLimiters' });
  }

  async goto(): Promise<void> {
    await this.page.goto('/limiter');
  }
}

/** The SmartLimiter editor. */
export class LimiterEditorPage {
  readonly problems: Locator;
  readonly status: Locator;

  constructor(readonly page: Page) {
    this.problems = page.getByRole('list', { name: 'Problems' });
    this.status = page.getByRole('region', { name: 'Problems' }).getByRole('status');
  }

  async open(namespace: string, name: string): Promise<void> {
    await this.page.goto(`/limiter/edit?namespace=${namespace}&name=${name}`);
    await expect(this.page.getByRole('heading', { level: 2, name: `${namespace}/${name}` })).toBeVisible();
  }

  /** A new policy for a service, as its page's "New policy" link opens it. */
  async openNew(namespace: string, service: string): Promise<void> {
    await this.page.goto(`/limiter/edit?namespace=${namespace}&service=${service}`);
    await expect(this.page.getByRole('heading', { level: 2, name: 'New policy' })).toBeVisible();
  }

  tab(name: 'Form' | 'YAML'): Locator {
    return this.page.getByRole('tab', { name });
  }

  button(name: string | RegExp): Locator {
    return this.page.getByRole('button', { name });
  }

  async waitChecked(): Promise<void> {
    await expect(this.status).not.toHaveText('Checking…');
  }

  /** Previews a policy that checks clean; `change` matches the heading of one object it changes. */
  async preview(change: RegExp): Promise<void> {
    await this.waitChecked();
    await expect(this.status).toHaveText('No problems found.');
    await this.button('Preview').click();
    await expect(this.page.getByRole('heading', { name: change })).toBeVisible();
  }

  /** Replaces the YAML text (as a paste: CodeMirror does not re-indent it). */
  async setYaml(text: string): Promise<void> {
    await this.tab('YAML').click();
    const editor = this.page.getByRole('textbox', { name: 'Policy YAML' });
    await editor.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.insertText(text);
  }

  async yaml(): Promise<string> {
    await this.tab('YAML').click();
    return this.page.getByRole('textbox', { name: 'Policy YAML' }).innerText();
  }

  async apply(): Promise<void> {
    await this.waitChecked();
    await this.button('Apply…').click();
    await this.page.getByRole('alertdialog').getByRole('button', { name: 'Apply now' }).click();
    await expect(this.page.getByRole('status').filter({ hasText: 'Applied.' })).toBeVisible();
  }
}

/** A page listing workloads by cluster, each opening its detail from its row (lazy loading, plugins). */
class WorkloadListPage {
  readonly table: Locator;

  constructor(
    readonly page: Page,
    tableName: string,
  ) {
    this.table = page.getByRole('table', { name: tableName });
  }

  /** A workload's row; by default the home cluster's (east, in the embedded mesh). */
  row(workload: string, cluster = HOME_CLUSTER): Locator {
    return inCluster(
      this.page,
      this.table
        .getByRole('row')
        .filter({ has: this.page.getByRole('rowheader', { name: workload, exact: true }) }),
      cluster,
    );
  }

  /** A workload's detail, opened from its row. */
  async open(namespace: string, workload: string): Promise<Locator> {
    await this.row(workload).getByRole('button', { name: workload, exact: true }).click();
    const detail = this.detail(namespace, workload);
    await expect(detail).toBeVisible();
    return detail;
  }

  detail(namespace: string, workload: string): Locator {
    return this.page.getByRole('region', { name: `${namespace}/${workload}`, exact: true });
  }
}

/** Lazy loading: the workloads, their fences and their Sidecars' egress hosts. */
export class LazyloadPage extends WorkloadListPage {
  constructor(page: Page) {
    super(page, 'Workloads and their fences');
  }

  async goto(): Promise<void> {
    await this.page.goto('/lazyload');
    await expect(this.page.getByRole('heading', { level: 2, name: 'Lazy loading' })).toBeVisible();
  }

  /** Previews the fence "Enable fence" would apply; the preview region is returned. */
  async previewFence(detail: Locator): Promise<Locator> {
    await detail.getByRole('button', { name: 'Enable fence' }).click();
    const preview = detail.getByRole('region', { name: 'Preview' });
    await expect(preview).toBeVisible();
    return preview;
  }

  hosts(detail: Locator): Locator {
    return detail.getByRole('table', { name: /^Egress hosts of Sidecar/ });
  }

  hostRow(detail: Locator, host: string): Locator {
    return this.hosts(detail)
      .getByRole('row')
      .filter({ has: this.page.getByRole('rowheader', { name: host, exact: true }) });
  }
}

/** Plugins: the workloads' HTTP filter chains and the PluginManager / EnvoyPlugin editor. */
export class PluginPage extends WorkloadListPage {
  readonly editor: Locator;

  constructor(page: Page) {
    super(page, 'Workloads and their plugins');
    this.editor = page.getByRole('region', { name: /^(Edit|New) (PluginManager|EnvoyPlugin)/ });
  }

  /** The table of a workload's inbound HTTP filters on `port`. */
  inboundChain(scope: Locator, workload: string, port: number): Locator {
    return scope.getByRole('table', {
      name: new RegExp(`^Inbound port ${port} HTTP filters of ${workload}`),
    });
  }

  /** The chain's filter names, in order. */
  async filterNames(chain: Locator): Promise<string[]> {
    return chain.locator('tbody th[scope="row"] code').allInnerTexts();
  }

  /** The chain's filters in order, each as `name by source`. */
  async filters(chain: Locator): Promise<string[]> {
    return (await chain.locator('tbody tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  }

  /** Replaces the YAML text (as a paste: CodeMirror does not re-indent it). */
  async setYaml(text: string): Promise<void> {
    const editor = this.page.getByRole('textbox', { name: 'Plugin YAML' });
    await editor.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.insertText(text);
  }

  async yaml(): Promise<string> {
    return this.page.getByRole('textbox', { name: 'Plugin YAML' }).innerText();
  }

  /** A settings field of the form, inside the fieldsets of its messages (`['abort', 'percentage']`). */
  setting(plugin: number, messages: readonly string[], field: string): Locator {
    let scope = this.editor.getByRole('group', { name: new RegExp(`^Plugin ${plugin}: `) });
    for (const m of messages) scope = scope.getByRole('group', { name: m, exact: true });
    return scope.getByLabel(field, { exact: true });
  }

  async waitChecked(): Promise<void> {
    await expect(this.editor.getByRole('region', { name: 'Problems' }).getByRole('status')).not.toHaveText(
      'Checking…',
    );
  }
}
