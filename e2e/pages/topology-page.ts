import type { Locator, Page } from '@playwright/test';

/** The overview's topology graph over clusters: cluster boxes, namespace boxes in them, nodes in those. */
export class TopologyView {
  readonly graph: Locator;
  readonly calls: Locator;
  readonly legend: Locator;

  constructor(readonly page: Page) {
    this.graph = page.getByRole('group', { name: 'Topology graph' });
    this.calls = page.getByRole('list', { name: 'Calls between services' });
    this.legend = page.getByRole('list', { name: 'Legend' });
  }

  /** A cluster's box: a group named `Cluster <name>`, then what it is (`home`, `unreachable, …`). */
  cluster(name: string): Locator {
    return this.graph.getByRole('group', { name: new RegExp(`^Cluster ${name}(,|$)`) });
  }

  namespace(cluster: string, namespace: string): Locator {
    return this.cluster(cluster).getByRole('group', {
      name: `Namespace ${namespace} in ${cluster}`,
      exact: true,
    });
  }

  /** A service's node in a cluster's namespace box. */
  node(cluster: string, namespace: string, service: string): Locator {
    return this.namespace(cluster, namespace).getByRole('button', {
      name: new RegExp(`^${service} in ${namespace}( \\(${cluster}\\))?:`),
    });
  }

  /** The drawn line of a call, by its ends' ids (`cluster/namespace/name`). */
  edgeLine(from: string, to: string): Locator {
    return this.graph.locator(`[data-edge="${from}>${to}"] path`);
  }

  /** The side panel a node opens, headed with the service's name. */
  panel(service: string): Locator {
    return this.page.getByRole('region', { name: service, exact: true });
  }
}
