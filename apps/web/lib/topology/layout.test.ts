import { describe, expect, it } from 'vitest';
import {
  callDepths,
  layoutTopology,
  type Layout,
  type LayoutEdge,
  type LayoutNode,
  type Rect,
} from './layout';

/**
 * 100 services in 7 namespaces, each calling a few of those after it: deep chains, fan-out, cycles. With
 * `clusters`, spread over that many clusters (every namespace in each), so many calls cross clusters.
 */
function synthetic(clusters = 0): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const nodes = Array.from({ length: 100 }, (_, i): LayoutNode => {
    const group = `ns-${i % 7}`;
    const name = `svc-${String(i).padStart(3, '0')}`;
    if (clusters === 0) return { id: `${group}/${name}`, group };
    const cluster = ['east', 'west', 'north'][Math.floor(random() * clusters)]!;
    return { id: `${cluster}/${group}/${name}`, group, cluster };
  });
  const edges: LayoutEdge[] = [];
  nodes.forEach((n, i) => {
    for (let k = 0; k < 3; k++) {
      const j = i + 1 + Math.floor(random() * 20);
      if (j < nodes.length) edges.push({ from: n.id, to: nodes[j]!.id });
    }
    if (i % 17 === 0 && i > 0) edges.push({ from: n.id, to: nodes[i - 5]!.id }); // a cycle
  });
  return { nodes, edges };
}

const overlap = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Rect, b: Rect) =>
  a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;

describe('the topology layout', () => {
  it('places 100 services without overlaps, each inside its namespace box, boxes apart', () => {
    const { nodes, edges } = synthetic();
    const layout = layoutTopology(nodes, edges);
    expect(layout.nodes.size).toBe(100);
    const rects = [...layout.nodes.values()];
    for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) expect(overlap(rects[i]!, rects[j]!)).toBe(false);
    for (const n of nodes) {
      const box = layout.boxes.find((b) => b.group === n.group)!;
      expect(box.cluster).toBe('');
      expect(inside(layout.nodes.get(n.id)!, box)).toBe(true);
    }
    for (let i = 0; i < layout.boxes.length; i++)
      for (let j = i + 1; j < layout.boxes.length; j++)
        expect(overlap(layout.boxes[i]!, layout.boxes[j]!)).toBe(false);
    for (const b of layout.boxes) {
      expect(b.x + b.width).toBeLessThanOrEqual(layout.width);
      expect(b.y + b.height).toBeLessThanOrEqual(layout.height);
    }
    // One cluster without a name: no cluster box around the namespaces.
    expect(layout.clusters).toEqual([]);
  });

  it('is deterministic, whatever the order of its input', () => {
    const { nodes, edges } = synthetic();
    const a = layoutTopology(nodes, edges);
    const b = layoutTopology([...nodes].reverse(), [...edges].reverse());
    expect([...b.nodes].sort()).toEqual([...a.nodes].sort());
    expect(b.boxes).toEqual(a.boxes);
    expect(layoutTopology(nodes, edges)).toEqual(a);
  });

  it('puts callers left of callees in a box by call depth, and survives cycles', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id: `ns/${id}`, group: 'ns' }));
    const edges = [
      { from: 'ns/a', to: 'ns/b' },
      { from: 'ns/b', to: 'ns/c' },
      { from: 'ns/c', to: 'ns/b' },
      { from: 'ns/a', to: 'ns/d' },
    ];
    expect(Object.fromEntries(callDepths(nodes, edges))).toEqual({
      'ns/a': 0,
      'ns/b': 1,
      'ns/c': 2,
      'ns/d': 1,
    });
    const layout = layoutTopology(nodes, edges);
    const x = (id: string) => layout.nodes.get(`ns/${id}`)!.x;
    expect(x('a')).toBeLessThan(x('b'));
    expect(x('b')).toBeLessThan(x('c'));
    expect(x('d')).toBe(x('b'));
  });

  it('is empty without nodes', () => {
    expect(layoutTopology([], [])).toEqual({
      nodes: new Map(),
      boxes: [],
      clusters: [],
      width: 0,
      height: 0,
    });
  });
});

/** Everything the clustered layout promises: no overlaps at any level, each thing inside its box. */
function expectNested(nodes: readonly LayoutNode[], layout: Layout): void {
  const rects = [...layout.nodes.values()];
  expect(rects).toHaveLength(nodes.length);
  for (let i = 0; i < rects.length; i++)
    for (let j = i + 1; j < rects.length; j++) expect(overlap(rects[i]!, rects[j]!)).toBe(false);
  for (const level of [layout.boxes, layout.clusters] as const)
    for (let i = 0; i < level.length; i++)
      for (let j = i + 1; j < level.length; j++) expect(overlap(level[i]!, level[j]!)).toBe(false);
  for (const n of nodes) {
    const boxes = layout.boxes.filter((b) => b.cluster === n.cluster && b.group === n.group);
    expect(boxes).toHaveLength(1);
    expect(inside(layout.nodes.get(n.id)!, boxes[0]!)).toBe(true);
  }
  for (const b of layout.boxes) {
    const cluster = layout.clusters.find((c) => c.cluster === b.cluster)!;
    expect(inside(b, cluster)).toBe(true);
    // The cluster's header (its name) is above every namespace box in it.
    expect(b.y).toBeGreaterThanOrEqual(cluster.y + 24);
  }
  for (const c of layout.clusters) {
    expect(c.x).toBeGreaterThanOrEqual(0);
    expect(c.y).toBeGreaterThanOrEqual(0);
    expect(c.x + c.width).toBeLessThanOrEqual(layout.width);
    expect(c.y + c.height).toBeLessThanOrEqual(layout.height);
  }
}

describe('the topology layout over clusters', () => {
  it.each([2, 3])(
    'places 100 services over %i clusters: namespaces inside clusters, nothing overlapping',
    (count) => {
      const { nodes, edges } = synthetic(count);
      const layout = layoutTopology(nodes, edges, { firstCluster: 'east' });
      const clusters = [...new Set(nodes.map((n) => n.cluster))];
      expect(clusters).toHaveLength(count);
      expect(layout.clusters.map((c) => c.cluster).sort()).toEqual([...clusters].sort());
      // Every namespace has services in every cluster here: a box per (cluster, namespace).
      expect(layout.boxes).toHaveLength(7 * count);
      expectNested(nodes, layout);
    },
  );

  it('is deterministic over clusters, whatever the order of its input', () => {
    const { nodes, edges } = synthetic(3);
    const a = layoutTopology(nodes, edges, { firstCluster: 'west' });
    const b = layoutTopology([...nodes].reverse(), [...edges].reverse(), { firstCluster: 'west' });
    expect([...b.nodes].sort()).toEqual([...a.nodes].sort());
    expect(b.boxes).toEqual(a.boxes);
    expect(b.clusters).toEqual(a.clusters);
    expect(layoutTopology(nodes, edges, { firstCluster: 'west' })).toEqual(a);
  });

  it('draws the first cluster first (top left), the others by name', () => {
    const { nodes, edges } = synthetic(3);
    expect(layoutTopology(nodes, edges, { firstCluster: 'west' }).clusters.map((c) => c.cluster)).toEqual([
      'west',
      'east',
      'north',
    ]);
    const plain = layoutTopology(nodes, edges);
    expect(plain.clusters.map((c) => c.cluster)).toEqual(['east', 'north', 'west']);
    expect(plain.clusters[0]).toMatchObject({ x: 0, y: 0 });
  });

  it('keeps a namespace of the same name apart in each cluster, and a call across clusters deepens', () => {
    const nodes: LayoutNode[] = [
      { id: 'east/default/productpage', group: 'default', cluster: 'east' },
      { id: 'east/default/reviews', group: 'default', cluster: 'east' },
      { id: 'west/default/reviews', group: 'default', cluster: 'west' },
      { id: 'west/default/ratings', group: 'default', cluster: 'west' },
    ];
    const edges = [
      { from: 'east/default/productpage', to: 'east/default/reviews' },
      { from: 'east/default/productpage', to: 'west/default/reviews' },
      { from: 'west/default/reviews', to: 'west/default/ratings' },
    ];
    expect(callDepths(nodes, edges).get('west/default/ratings')).toBe(2);
    const layout = layoutTopology(nodes, edges, { firstCluster: 'east' });
    expect(layout.boxes.map((b) => `${b.cluster}/${b.group}`)).toEqual(['east/default', 'west/default']);
    expectNested(nodes, layout);
    // One cluster under the other, the first one on top.
    const [east, west] = layout.clusters;
    expect(east!.y + east!.height).toBeLessThan(west!.y);
    expect(west!.x).toBe(east!.x);
  });

  it('draws a cluster asked for without nodes as an empty box', () => {
    const nodes: LayoutNode[] = [{ id: 'east/default/productpage', group: 'default', cluster: 'east' }];
    const layout = layoutTopology(nodes, [], { firstCluster: 'east', emptyClusters: ['west', 'east'] });
    expect(layout.clusters.map((c) => c.cluster)).toEqual(['east', 'west']);
    expect(layout.boxes.map((b) => b.cluster)).toEqual(['east']);
    expectNested(nodes, layout);
    const west = layout.clusters[1]!;
    expect(west.width).toBeGreaterThan(0);
    expect(west.height).toBeGreaterThan(0);
  });
});
