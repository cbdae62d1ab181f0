import { describe, expect, it } from 'vitest';
import { callDepths, layoutTopology, type LayoutEdge, type LayoutNode, type Rect } from './layout';

/** 100 services in 7 namespaces, each calling a few of those after it: deep chains, fan-out, cycles. */
function synthetic(): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const nodes = Array.from({ length: 100 }, (_, i) => {
    const group = `ns-${i % 7}`;
    return { id: `${group}/svc-${String(i).padStart(3, '0')}`, group };
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
      expect(inside(layout.nodes.get(n.id)!, box)).toBe(true);
    }
    for (let i = 0; i < layout.boxes.length; i++)
      for (let j = i + 1; j < layout.boxes.length; j++)
        expect(overlap(layout.boxes[i]!, layout.boxes[j]!)).toBe(false);
    for (const b of layout.boxes) {
      expect(b.x + b.width).toBeLessThanOrEqual(layout.width);
      expect(b.y + b.height).toBeLessThanOrEqual(layout.height);
    }
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
    expect(layoutTopology([], [])).toEqual({ nodes: new Map(), boxes: [], width: 0, height: 0 });
  });
});
