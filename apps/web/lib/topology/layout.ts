/**
 * A deterministic layered layout of the call graph: a box per group (the namespace; the cluster's box will
 * hold these later), and within each box a column per call depth, wrapped into more columns when tall.
 * Nodes are placed on a grid, so none overlap by construction; no layout library is needed for that.
 */

export interface LayoutNode {
  readonly id: string;
  /** The box the node is drawn in. */
  readonly group: string;
}

export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly nodes: ReadonlyMap<string, Rect>;
  readonly boxes: readonly ({ readonly group: string } & Rect)[];
  readonly width: number;
  readonly height: number;
}

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 52;
const GAP_X = 110; // room for an edge's label between columns
const GAP_Y = 22;
const BOX_PAD = 16;
const BOX_HEADER = 24;
const BOX_GAP = 28;
/** A layer taller than this wraps into another column: 100 services in one namespace stay on screen. */
const MAX_ROWS = 10;
/** Boxes are placed left to right and wrap at this width. */
const MAX_WIDTH = 1600;

/**
 * Call depth: the longest chain of callers above a node (0: nobody calls it). Cycles are cut at the edges
 * that close them in a depth-first walk from the callers-of-none, in id order, so the result does not
 * depend on the input's order.
 */
export function callDepths(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Map<string, number> {
  const ids = [...new Set(nodes.map((n) => n.id))].sort();
  const known = new Set(ids);
  const callees = new Map<string, string[]>();
  const called = new Set<string>();
  for (const e of edges)
    if (known.has(e.from) && known.has(e.to) && e.from !== e.to) {
      callees.set(e.from, [...(callees.get(e.from) ?? []), e.to]);
      called.add(e.to);
    }
  for (const list of callees.values()) list.sort();
  // Depth-first from the roots, then whatever a cycle hides: an edge back to the path is dropped.
  const state = new Map<string, 'open' | 'done'>();
  const callers = new Map<string, string[]>();
  const walk = (id: string) => {
    state.set(id, 'open');
    for (const c of callees.get(id) ?? []) {
      if (state.get(c) === 'open') continue;
      callers.set(c, [...(callers.get(c) ?? []), id]);
      if (!state.has(c)) walk(c);
    }
    state.set(id, 'done');
  };
  for (const id of ids) if (!called.has(id) && !state.has(id)) walk(id);
  for (const id of ids) if (!state.has(id)) walk(id);
  const depth = new Map<string, number>();
  const visit = (id: string): number => {
    const d = depth.get(id);
    if (d !== undefined) return d;
    const mine = Math.max(-1, ...(callers.get(id) ?? []).map(visit)) + 1;
    depth.set(id, mine);
    return mine;
  };
  for (const id of ids) visit(id);
  return depth;
}

export function layoutTopology(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Layout {
  const depth = callDepths(nodes, edges);
  const byGroup = new Map<string, LayoutNode[]>();
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id)))
    byGroup.set(n.group, [...(byGroup.get(n.group) ?? []), n]);
  const callers = new Map<string, string[]>();
  for (const e of edges) callers.set(e.to, [...(callers.get(e.to) ?? []), e.from]);

  // Each box laid out on its own, at the origin.
  const local = [...byGroup.keys()].sort().map((group) => {
    const members = byGroup.get(group)!;
    const layers = new Map<number, LayoutNode[]>();
    for (const n of members) {
      const d = depth.get(n.id) ?? 0;
      layers.set(d, [...(layers.get(d) ?? []), n]);
    }
    const placed = new Map<string, { col: number; row: number }>();
    let col = 0;
    let rows = 1;
    for (const d of [...layers.keys()].sort((a, b) => a - b)) {
      // Under their callers, to cross fewer edges: by the mean row of callers already placed, then id.
      const order = layers
        .get(d)!
        .map((n) => {
          const rowsAbove = (callers.get(n.id) ?? []).flatMap((c) => {
            const p = placed.get(c);
            return p ? [p.row] : [];
          });
          const mean = rowsAbove.length ? rowsAbove.reduce((a, b) => a + b, 0) / rowsAbove.length : Infinity;
          return { n, mean };
        })
        .sort((a, b) => a.mean - b.mean || a.n.id.localeCompare(b.n.id));
      order.forEach(({ n }, i) =>
        placed.set(n.id, { col: col + Math.floor(i / MAX_ROWS), row: i % MAX_ROWS }),
      );
      col += Math.ceil(order.length / MAX_ROWS);
      rows = Math.max(rows, Math.min(order.length, MAX_ROWS));
    }
    return {
      group,
      placed,
      width: 2 * BOX_PAD + col * NODE_WIDTH + (col - 1) * GAP_X,
      height: BOX_HEADER + 2 * BOX_PAD + rows * NODE_HEIGHT + (rows - 1) * GAP_Y,
    };
  });

  // Boxes on shelves, left to right, wrapping at MAX_WIDTH.
  const out = new Map<string, Rect>();
  const boxes: ({ group: string } & Rect)[] = [];
  let x = 0;
  let y = 0;
  let shelf = 0;
  let width = 0;
  for (const b of local) {
    if (x > 0 && x + b.width > MAX_WIDTH) {
      x = 0;
      y += shelf + BOX_GAP;
      shelf = 0;
    }
    boxes.push({ group: b.group, x, y, width: b.width, height: b.height });
    for (const [id, p] of b.placed)
      out.set(id, {
        x: x + BOX_PAD + p.col * (NODE_WIDTH + GAP_X),
        y: y + BOX_HEADER + BOX_PAD + p.row * (NODE_HEIGHT + GAP_Y),
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
      });
    x += b.width + BOX_GAP;
    shelf = Math.max(shelf, b.height);
    width = Math.max(width, x - BOX_GAP);
  }
  return { nodes: out, boxes, width, height: y + shelf };
}
