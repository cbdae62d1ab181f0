#!/usr/bin/env node
// The compiled BFF and CLI: `node scripts/build.mjs [--outdir DIR]` (default dist/) writes bff.mjs (the
// BFF, src/main.ts) and governor.mjs (the CLI, src/cli/run.ts), each one ESM bundle for Node 20 with its
// source map, and the files the sources read at run time under assets/. Plain `node` runs them, with the
// packages in EXTERNAL installed where Node's resolution finds them (apps/bff/node_modules for dist/).
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const bffDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(bffDir, 'dist') } } });
const outdir = resolve(values.outdir);

/**
 * Left to Node's own resolution from node_modules, because bundling breaks them: protobufjs and
 * @grpc/proto-loader read .proto files and optional modules from their own folders at run time, and
 * @grpc/grpc-js-xds (whose protos src/envoy reads) registers itself into the @grpc/grpc-js it finds beside
 * it, which must then be the same copy as ours. @kubernetes/client-node is large and brings ws, which loads
 * its optional native add-ons when they are installed; only the BFF imports it.
 */
const EXTERNAL = [
  '@grpc/grpc-js',
  '@grpc/grpc-js-xds',
  '@grpc/proto-loader',
  'protobufjs',
  'protobufjs/*',
  '@kubernetes/client-node',
];

const ASSET_URL = /new URL\((['"])([^'"]+)\1,\s*import\.meta\.url\)/g;

/**
 * A source's `new URL('<path>', import.meta.url)` names a file beside that source, which a bundle no
 * longer is: the file (or folder) is copied to assets/ and the URL rewritten to that copy. Any other use of
 * `new URL(..., import.meta.url)` fails the build rather than a run.
 */
const assetsPlugin = {
  name: 'governor-assets',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const contents = source.replace(ASSET_URL, (_match, _quote, path) => {
        const asset = resolve(dirname(args.path), path);
        if (!existsSync(asset)) throw new Error(`${args.path}: ${path} does not exist`);
        const name = relative(bffDir, asset).split(sep).join('/');
        if (name.startsWith('..')) throw new Error(`${args.path}: ${path} is outside ${bffDir}`);
        cpSync(asset, join(outdir, 'assets', name), { recursive: true });
        return `new URL(${JSON.stringify(`./assets/${name}`)}, import.meta.url)`;
      });
      if (/new URL\([^)]*import\.meta\.url/.test(source.replace(ASSET_URL, '')))
        throw new Error(
          `${args.path}: new URL(..., import.meta.url) with a path that is not a string literal`,
        );
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * CommonJS dependencies in an ESM bundle still call require() for Node's built-in modules, and ioredis
 * names __dirname in its friendly error stacks.
 */
const requireBanner = [
  "import { createRequire as __governorCreateRequire } from 'node:module';",
  "import { dirname as __governorDirname } from 'node:path';",
  "import { fileURLToPath as __governorFileURLToPath } from 'node:url';",
  'const require = __governorCreateRequire(import.meta.url);',
  'const __filename = __governorFileURLToPath(import.meta.url);',
  'const __dirname = __governorDirname(__filename);',
].join('\n');

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: EXTERNAL,
  plugins: [assetsPlugin],
  logLevel: 'warning',
  absWorkingDir: bffDir,
};

// The directory is emptied first: refuse one that holds anything but an earlier build.
if (existsSync(outdir) && readdirSync(outdir).length > 0 && !existsSync(join(outdir, 'bff.mjs'))) {
  console.error(`${outdir} is not empty and holds no earlier build: not emptying it`);
  process.exit(2);
}
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const started = performance.now();
const built = Promise.all([
  build({
    ...common,
    entryPoints: ['src/main.ts'],
    outfile: join(outdir, 'bff.mjs'),
    banner: { js: requireBanner },
  }),
  build({
    ...common,
    entryPoints: ['src/cli/run.ts'],
    outfile: join(outdir, 'governor.mjs'),
    banner: { js: `#!/usr/bin/env node\n${requireBanner}` },
  }),
]);
// esbuild has printed what failed.
await built.catch(() => process.exit(1));
chmodSync(join(outdir, 'governor.mjs'), 0o755);
const shown = relative(process.cwd(), outdir);
console.log(
  `built ${shown.startsWith('..') ? outdir : shown || '.'}/bff.mjs and governor.mjs in ${Math.round(performance.now() - started)} ms`,
);
