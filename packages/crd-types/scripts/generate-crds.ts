/** Writes the CRD manifests generated from the type definitions into manifests/. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdYaml, governorCrds } from '../src/crd';

const dir = join(import.meta.dirname, '..', 'manifests');
for (const [file, crd] of Object.entries(governorCrds())) {
  writeFileSync(join(dir, file), crdYaml(crd));
  console.log(`wrote manifests/${file}`);
}
