import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * What makes a test an integration test: a child process, a server the machine provides (Redis,
 * Prometheus, the Go-built kube-apiserver), or the whole product started with its timers (Governor, the
 * BFF over HTTP). The unit project is what runs in seconds on a bare checkout (`pnpm test:unit`), so a test
 * under src/ that imports any of these runs with the integration tests. Decided from the imports rather
 * than listed, so that a test keeps its project when its file moves.
 */
const NEEDS_PROCESSES =
  /from '(node:child_process|@governor\/limiter\/testing|[^']*test\/support\/(kube-test-server|kube-test-fixtures|prometheus-server|demo-bff|demo-api)|[^']*\/(governor|server\/bff))'/;

const srcTestsNeedingProcesses = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
  .map((file) => `src/${file.replaceAll('\\', '/')}`)
  .filter(
    (file) => file.endsWith('.test.ts') && NEEDS_PROCESSES.test(readFileSync(join(root, file), 'utf8')),
  );

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...srcTestsNeedingProcesses],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', ...srcTestsNeedingProcesses],
        },
      },
    ],
  },
});
