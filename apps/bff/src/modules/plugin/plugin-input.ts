/**
 * A PluginManager or EnvoyPlugin as the editor sends it (YAML text or an object): its kind, the object as
 * written, and where each field path is in the YAML, so that every issue points at a line and column.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import type { InputIssue } from '../../lib/input-issues';
import { PLUGIN_KINDS, type PluginKind } from './service';

/** Largest object text accepted. */
export const MAX_PLUGIN_BYTES = 256 * 1024;

export const pluginInputSchema = z.union([
  z.strictObject({ yaml: z.string().max(MAX_PLUGIN_BYTES, `at most ${MAX_PLUGIN_BYTES} bytes`) }),
  z.strictObject({ object: z.record(z.string(), z.unknown()) }),
]);
export type PluginInput = z.infer<typeof pluginInputSchema>;

export interface ReadInput {
  readonly kind: PluginKind | null;
  /** As written, without a status, when it is a mapping at all. */
  readonly raw: Record<string, unknown> | null;
  readonly issues: InputIssue[];
  readonly locate: (path: string) => { line: number; column: number } | undefined;
}

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
      // Slime's manifests use snake_case where the parsed object has lowerCamel names.
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

export function readPluginInput(input: PluginInput): ReadInput {
  const issues: InputIssue[] = [];
  let value: unknown;
  let locate: ReadInput['locate'] = () => undefined;
  if ('yaml' in input) {
    const lines = new LineCounter();
    const doc = parseDocument(input.yaml, { lineCounter: lines, prettyErrors: false });
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0]);
      issues.push({
        path: '',
        message: e.message.split('\n')[0]!,
        line: pos.line,
        column: pos.col,
        severity: 'error',
      });
    }
    if (doc.errors.length > 0) return { kind: null, raw: null, issues, locate };
    value = doc.toJS();
    locate = (path) => {
      const start = nodeAt(doc, splitPath(path))?.range?.[0];
      if (start === undefined) return undefined;
      const pos = lines.linePos(start);
      return { line: pos.line, column: pos.col };
    };
  } else value = input.object;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      kind: null,
      raw: null,
      issues: [{ path: '', message: 'expected a PluginManager or an EnvoyPlugin', severity: 'error' }],
      locate,
    };
  const { status: _status, ...raw } = value as Record<string, unknown>;
  const kind = PLUGIN_KINDS.find((k) => k === raw.kind) ?? null;
  if (kind === null)
    issues.push({
      path: 'kind',
      message: `expected kind PluginManager or EnvoyPlugin${raw.kind !== undefined ? `, got ${JSON.stringify(raw.kind)}` : ''}`,
      ...locate('kind'),
      severity: 'error',
    });
  return { kind, raw, issues, locate };
}

/** A plan's warning, `path: message` or a sentence, as an issue located in the YAML. */
export function warningIssue(warning: string, locate: ReadInput['locate']): InputIssue {
  const m = /^((?:spec|metadata)[\w.[\]]*): (.*)$/s.exec(warning);
  if (m === null) return { path: '', message: warning, severity: 'warning' };
  return { path: m[1]!, message: m[2]!, ...locate(m[1]!), severity: 'warning' };
}
