import { defineConfig } from 'vitest/config';

// Unit tests of the dashboard's pure modules; pages and components are covered by the e2e suite.
export default defineConfig({
  test: {
    include: ['lib/**/*.test.ts', 'components/**/*.test.ts'],
    environment: 'node',
  },
});
