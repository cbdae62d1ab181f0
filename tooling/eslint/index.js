// @ts-check
/**
 * Governor's own lint rules. `no-relative-cross-package`: a relative import may not leave the package it is
 * written in; other workspace packages are imported by name, so that the dependency direction rules (which
 * match package names) cannot be bypassed with `../../`.
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

export default { rules: { 'no-relative-cross-package': noRelativeCrossPackage } };
