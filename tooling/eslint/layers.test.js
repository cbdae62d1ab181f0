// @ts-check
// The `layers` rule on files of a made-up source folder: `node --test` runs it (pnpm -r test).
import { describe, it } from 'node:test';
import { RuleTester } from 'eslint';
import rules from './index.js';

RuleTester.describe = describe;
RuleTester.it = it;

const options = [{ root: 'src', layers: [['lib'], ['framework'], ['modules'], ['main']] }];
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2023, sourceType: 'module' } });

tester.run('layers', rules.rules.layers, {
  valid: [
    {
      filename: 'src/modules/limiter/index.ts',
      code: "import { x } from '../../framework/registry';",
      options,
    },
    { filename: 'src/framework/registry.ts', code: "import { x } from './module';", options },
    { filename: 'src/main.ts', code: "import { MODULES } from './modules';", options },
    { filename: 'src/framework/a.ts', code: "import { z } from 'zod';", options },
    { filename: 'elsewhere/a.ts', code: "import { x } from '../src/main';", options },
  ],
  invalid: [
    {
      filename: 'src/framework/registry.ts',
      code: "import { MODULES } from '../modules';",
      options,
      errors: [{ messageId: 'up' }],
    },
    {
      filename: 'src/lib/a.ts',
      code: "export * from '../main';",
      options,
      errors: [{ messageId: 'up' }],
    },
    { filename: 'src/other/a.ts', code: 'export const a = 1;', options, errors: [{ messageId: 'unplaced' }] },
  ],
});
