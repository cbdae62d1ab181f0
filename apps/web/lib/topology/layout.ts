/**
 * A deterministic layered layout of the call graph: a box per cluster, in it a box per group (the
 * namespace), and within each namespace box a column per call depth, wrapped into more columns when tall.
 * Nodes are placed on a grid, namespace boxes on shelves and cluster boxes one under the other, so none
 * overlap by construction; no layout library is needed for that.
 */

export interface LayoutNode {
  readonly id: string;
  /** The box the node is drawn in (its namespace). */
  readonly group: string;
  /** The outer box: absent, the node is in the one unnamed cluster (`''`). */
  readonly cluster?: string;
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

export type GroupBox = { readonly cluster: string; readonly group: string } & Rect;
export type ClusterBox = { readonly cluster: string } & Rect;

export interface Layout {
  readonly nodes: ReadonlyMap<string, Rect>;
  /** Namespace boxes, each inside its cluster's box. */
  readonly boxes: readonly GroupBox[];
  /** Cluster boxes; empty when every node is in the unnamed cluster (a graph of one cluster, unnamed). */
  readonly clusters: readonly ClusterBox[];
  readonly width: number;
  readonly height: number;
}

export interface LayoutOptions {
  /** Drawn first (the home cluster); the others follow by name. */
  readonly firstCluster?: string;
  /** Clusters drawn even without nodes (one that cannot be reached has none to show, yet is there). */
  readonly emptyClusters?: readonly string[];
}

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 52;
const GAP_X = 150; // room for an edge's label between columns: rate, 5xx share and p95
const GAP_Y = 22;
const BOX_PAD = 16;
const BOX_HEADER = 24;
const BOX_GAP = 28;
const CLUSTER_PAD = 14;
const CLUSTER_HEADER = 30;
/** Room between two clusters, one under the other, for the calls that cross from one to the other. */
const CLUSTER_GAP = 40;
/** An empty cluster's box: its header and a line saying why it is empty. */
const EMPTY_CLUSTER = { width: 320, height: 56 };
/** A layer taller than this wraps into another column: 100 services in one namespace stay on screen. */
const MAX_ROWS = 10;
/** Namespace boxes are placed left to right and wrap at this width. */
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

/** Boxes of known sizes on shelves, left to right, a new shelf when the next would pass `maxWidth`. */
function shelve(
  sizes: readonly { width: number; height: number }[],
  maxWidth: number,
  gap: number,
): { at: { x: number; y: number }[]; width: number; height: number } {
  const at: { x: number; y: number }[] = [];
  let x = 0;
  let y = 0;
  let shelf = 0;
  let width = 0;
  for (const s of sizes) {
    if (x > 0 && x + s.width > maxWidth) {
      x = 0;
      y += shelf + gap;
      shelf = 0;
    }
    at.push({ x, y });
    x += s.width + gap;
    shelf = Math.max(shelf, s.height);
    width = Math.max(width, x - gap);
  }
  return { at, width, height: sizes.length === 0 ? 0 : y + shelf };
}

/** One namespace box laid out on its own, at the origin: each node's column and row. */
function layoutGroup(
  members: readonly LayoutNode[],
  depth: ReadonlyMap<string, number>,
  callers: ReadonlyMap<string, readonly string[]>,
) {
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
    order.forEach(({ n }, i) => placed.set(n.id, { col: col + Math.floor(i / MAX_ROWS), row: i % MAX_ROWS }));
    col += Math.ceil(order.length / MAX_ROWS);
    rows = Math.max(rows, Math.min(order.length, MAX_ROWS));
  }
  return {
    placed,
    width: 2 * BOX_PAD + col * NODE_WIDTH + (col - 1) * GAP_X,
    height: BOX_HEADER + 2 * BOX_PAD + rows * NODE_HEIGHT + (rows - 1) * GAP_Y,
  };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function layoutTopology(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  options: LayoutOptions = {},
): Layout {
  const depth = callDepths(nodes, edges);
  const callers = new Map<string, string[]>();
  for (const e of edges) callers.set(e.to, [...(callers.get(e.to) ?? []), e.from]);
  // cluster → group → members, members in id order.
  const tree = new Map<string, Map<string, LayoutNode[]>>();
  for (const n of [...nodes].sort((a, b) => byName(a.id, b.id))) {
    const cluster = n.cluster ?? '';
    const groups = tree.get(cluster) ?? new Map<string, LayoutNode[]>();
    groups.set(n.group, [...(groups.get(n.group) ?? []), n]);
    tree.set(cluster, groups);
  }
  for (const c of options.emptyClusters ?? []) if (!tree.has(c)) tree.set(c, new Map());
  const first = options.firstCluster;
  const clusterNames = [...tree.keys()].sort((a, b) => +(b === first) - +(a === first) || byName(a, b));
  // The one unnamed cluster draws no box of its own: a graph without cluster names looks as it always did.
  const boxed = !(clusterNames.length === 1 && clusterNames[0] === '');

  // Each cluster laid out on its own, at the origin: its namespace boxes on shelves.
  const local = clusterNames.map((cluster) => {
    const groups = tree.get(cluster)!;
    const inner = [...groups.keys()].sort(byName).map((group) => ({
      group,
      ...layoutGroup(groups.get(group)!, depth, callers),
    }));
    const shelves = shelve(inner, MAX_WIDTH, BOX_GAP);
    const empty = inner.length === 0;
    const pad = boxed ? CLUSTER_PAD : 0;
    const header = boxed ? CLUSTER_HEADER : 0;
    return {
      cluster,
      inner,
      shelves,
      offset: { x: pad, y: header + pad },
      width: empty ? EMPTY_CLUSTER.width : shelves.width + 2 * pad,
      height: empty ? EMPTY_CLUSTER.height : shelves.height + header + 2 * pad,
    };
  });

  // One cluster a row: side by side, a call into the next cluster would run behind the nodes of its row.
  const outer = shelve(local, 0, CLUSTER_GAP);
  const out = new Map<string, Rect>();
  const boxes: GroupBox[] = [];
  const clusters: ClusterBox[] = [];
  local.forEach((c, i) => {
    const origin = outer.at[i]!;
    if (boxed) clusters.push({ cluster: c.cluster, ...origin, width: c.width, height: c.height });
    c.inner.forEach((b, j) => {
      const x = origin.x + c.offset.x + c.shelves.at[j]!.x;
      const y = origin.y + c.offset.y + c.shelves.at[j]!.y;
      boxes.push({ cluster: c.cluster, group: b.group, x, y, width: b.width, height: b.height });
      for (const [id, p] of b.placed)
        out.set(id, {
          x: x + BOX_PAD + p.col * (NODE_WIDTH + GAP_X),
          y: y + BOX_HEADER + BOX_PAD + p.row * (NODE_HEIGHT + GAP_Y),
          width: NODE_WIDTH,
          height: NODE_HEIGHT,
        });
    });
  });
  return { nodes: out, boxes, clusters, width: outer.width, height: outer.height };
}
