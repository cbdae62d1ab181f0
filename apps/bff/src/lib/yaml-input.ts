/**
 * YAML an editor sends, read so that every issue about it can point at a line and column: syntax errors
 * as issues, and `locate(path)` for a field path of the object it holds.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { InputIssue } from './input-issues';

export type Locate = (path: string) => { line: number; column: number } | undefined;

/** `a.b[0].c` → `['a', 'b', 0, 'c']`. */
function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1] !== '') out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The deepest node on the path: a missing field is reported where its parent is. */
function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const key of path) {
    if (isMap(node)) {
      // Slime's manifests use snake_case where a parsed object may have lowerCamel names.
      const snake = typeof key === 'string' ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key;
      const pair = node.items.find((p) => {
        const k = (p.key as { value?: unknown } | null)?.value;
        return k === key || k === snake;
      });
      if (!pair) break;
      node = pair.value ?? pair.key;
      found = (pair.value ?? pair.key) as Node;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      node = item;
      found = item as Node;
    } else break;
  }
  return found;
}

/** The document's value (undefined when it has syntax errors), those errors, and where each path is. */
export function readYaml(text: string): { value: unknown; issues: InputIssue[]; locate: Locate } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const issues: InputIssue[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return {
      path: '',
      message: e.message.split('\n')[0]!,
      line: pos.line,
      column: pos.col,
      severity: 'error',
    };
  });
  if (issues.length > 0) return { value: undefined, issues, locate: () => undefined };
  return {
    value: doc.toJS(),
    issues,
    locate: (path) => {
      const start = nodeAt(doc, splitPath(path))?.range?.[0];
      if (start === undefined) return undefined;
      const pos = lines.linePos(start);
      return { line: pos.line, column: pos.col };
    },
  };
}
