// @ts-check
/**
 * Governor's own lint rules. `no-relative-cross-package`: a relative import may not leave the package it is
 * written in; other workspace packages are imported by name, so that the dependency direction rules (which
 * match package names) cannot be bypassed with `../../`. `layers`: inside one source folder, an import
 * points to a layer below or beside its own, never above.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** @type {Map<string, string>} */
const rootCache = new Map();

/** The directory of the nearest package.json above a file. */
function packageRoot(file) {
  let dir = dirname(file);
  const start = dir;
  const cached = rootCache.get(start);
  if (cached) return cached;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  rootCache.set(start, dir);
  return dir;
}

/** @type {import('eslint').Rule.RuleModule} */
const noRelativeCrossPackage = {
  meta: {
    type: 'problem',
    docs: { description: 'Relative imports stay inside their package' },
    messages: {
      escape:
        'Relative import "{{source}}" leaves this package; import the other package by name (@governor/...).',
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const root = packageRoot(file);
    /** @param {any} node */
    const check = (node) => {
      const source = node.source && node.source.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = resolve(dirname(file), source);
      if (target !== root && !target.startsWith(root + sep)) {
        context.report({ node: node.source, messageId: 'escape', data: { source } });
      }
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

/**
 * The entry of `root` (its first path segment, a folder or a file without extension) that holds `file`, or
 * undefined for a file outside `root`.
 */
function entryOf(root, file) {
  if (!file.startsWith(root + sep)) return undefined;
  const first = file.slice(root.length + 1).split(sep)[0] ?? '';
  return first.replace(/\.(ts|tsx|js|mjs)$/, '');
}

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports point down the layers of a source folder' },
    messages: {
      up: '{{from}} (layer {{fromLayer}}) may not import {{to}} (layer {{toLayer}}): imports point down ({{doc}}).',
      unplaced: '{{entry}} is in no layer of {{root}}: add it to the layers in eslint.config.js.',
    },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          layers: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          doc: { type: 'string' },
        },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { root: rootOption, layers: order, doc = 'docs/architecture.md' } = context.options[0];
    const root = resolve(context.cwd, rootOption);
    const file = resolve(context.cwd, context.filename);
    const from = entryOf(root, file);
    if (from === undefined) return {};
    /** @type {Map<string, number>} */
    const layerOf = new Map();
    order.forEach((names, i) => names.forEach((n) => layerOf.set(n, i)));
    const fromLayer = layerOf.get(from);
    if (fromLayer === undefined)
      return {
        Program(node) {
          context.report({ node, messageId: 'unplaced', data: { entry: from, root: rootOption } });
        },
      };
    /** @param {any} node */
    const check = (node) => {
      const source = node.source && node.source.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = entryOf(root, resolve(dirname(file), source));
      if (to === undefined || to === from) return;
      const toLayer = layerOf.get(to);
      if (toLayer !== undefined && toLayer > fromLayer)
        context.report({
          node: node.source,
          messageId: 'up',
          data: { from, to, fromLayer: String(fromLayer), toLayer: String(toLayer), doc },
        });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'no-relative-cross-package': noRelativeCrossPackage, layers } };
