// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import governor from './tooling/eslint/index.js';

/**
 * Dependencies point one way (DESIGN §2): web → (router types of) bff → limiter, crd-types.
 * Nothing imports an app; the limiter imports nothing internal. Relative imports may not leave a package.
 */
const noApps = (/** @type {string} */ self) => ({
  group: ['@governor/bff', '@governor/bff/*', '@governor/web', '@governor/web/*', '@governor/e2e'].filter(
    (g) => !g.startsWith(self),
  ),
  message: 'Nothing imports an app (DESIGN §2).',
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/.next/**',
      '**/dist/**',
      '**/coverage/**',
      '**/next-env.d.ts',
      'e2e/test-results/**',
      'e2e/playwright-report/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { governor },
    rules: {
      'governor/no-relative-cross-package': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['packages/limiter/**/*.{ts,tsx,js,mjs}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@governor/*'], message: 'The limiter imports nothing internal (DESIGN §2).' },
            {
              group: ['@kubernetes/*', 'react', 'react-dom', '@trpc/*', 'next', 'next/*'],
              message: 'The engine knows nothing about Kubernetes, React or tRPC.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/crd-types/**/*.{ts,tsx,js,mjs}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@governor/*'], message: 'crd-types is a leaf package: it imports nothing internal.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/bff/**/*.{ts,tsx,js,mjs}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [noApps('@governor/bff')] }],
    },
  },
  {
    // The BFF's layers, lowest first (docs/architecture.md): an import points down or sideways, never up.
    files: ['apps/bff/src/**/*.{ts,tsx}'],
    ignores: ['apps/bff/src/**/*.test.ts'],
    rules: {
      'governor/layers': [
        'error',
        {
          root: 'apps/bff/src',
          layers: [
            ['lib', 'redact', 'runtime'],
            ['cluster', 'audit'],
            ['auth', 'sources', 'demo', 'istio', 'envoy'],
            ['framework'],
            ['fleet'],
            ['api'],
            ['modules'],
            ['simulator', 'rls', 'live', 'accesslog', 'xds'],
            ['governor', 'cli'],
            ['trpc'],
            ['server'],
            ['main'],
          ],
        },
      ],
    },
  },
  {
    files: ['apps/web/**/*.{ts,tsx,js,mjs}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@governor/bff/router',
              message: 'The web app may import the BFF router type only: `import type { AppRouter }`.',
              allowTypeImports: true,
            },
          ],
          patterns: [
            {
              group: [
                '@governor/bff',
                '@governor/bff/*',
                '!@governor/bff/router',
                '@governor/e2e',
                '@governor/limiter',
              ],
              message: 'The web app talks to the BFF over tRPC: it may import the router type only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['e2e/**/*.{ts,js,mjs}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@governor/*'], message: 'e2e drives the product from outside.' }] },
      ],
    },
  },
);
