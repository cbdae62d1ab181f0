#!/usr/bin/env node
// Governor's command line. The sources are TypeScript; tsx compiles them on the fly. The compiled
// build (`pnpm --filter @governor/bff build`) is dist/governor.mjs.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/run.ts');
