/** Slime's documented manifests live in the shared fixtures beside the repository (`../shared/fixtures/slime`). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const slimeFixturesDir = resolve(
  process.env.GOVERNOR_SLIME_FIXTURES ??
    join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'slime'),
);

if (!existsSync(slimeFixturesDir)) {
  throw new Error(`Slime fixtures not found at ${slimeFixturesDir} (set GOVERNOR_SLIME_FIXTURES)`);
}

export function fixtureFiles(pattern: RegExp, dir = slimeFixturesDir): string[] {
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}
