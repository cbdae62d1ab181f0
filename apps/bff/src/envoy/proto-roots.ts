/**
 * Where Envoy's `.proto` files come from (`@grpc/grpc-js-xds` ships them with their imports), and a
 * protobufjs root loaded from several such folders.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Protobufjs from 'protobufjs';
import type { Root } from 'protobufjs';

const requireHere = createRequire(import.meta.url);

let protobufjsModule: typeof Protobufjs | undefined;
/** protobufjs, loaded on first use: a command that reads no proto (`governor render`) starts sooner without it. */
export const protobufjs = (): typeof Protobufjs => (protobufjsModule ??= requireHere('protobufjs'));

/** `@grpc/grpc-js-xds/package.json`, resolved from here. */
export const grpcJsXdsPackageJson = (): string => requireHere.resolve('@grpc/grpc-js-xds/package.json');

/** Where Envoy's protos and their imports live inside `@grpc/grpc-js-xds`. */
export function envoyProtoRoots(): string[] {
  const deps = join(dirname(grpcJsXdsPackageJson()), 'deps');
  return readdirSync(deps)
    .map((name) => join(deps, name))
    .filter((p) => statSync(p).isDirectory());
}

/** protobufjs's own copies of the well-known types (`google/protobuf/*.proto`). */
export const protobufjsProtoRoot = (): string => dirname(requireHere.resolve('protobufjs/package.json'));

/** The files loaded (`keepCase`) and resolved, each import taken from the first root that has it. */
export function loadProtoRoot(roots: readonly string[], files: readonly string[]): Root {
  const root = new (protobufjs().Root)();
  root.resolvePath = (_origin, target) => {
    for (const r of roots) {
      const p = join(r, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}
