import { defineConfig, type Options } from "tsup";

const library: Options = {
  entry: ["src/index.ts"],
  format: ["esm"],
  // The declarations use Node's types (streams, Buffer): the reference loads @types/node (a peer
  // dependency) even in a consumer whose tsconfig loads no global types (TypeScript 6+ default).
  dts: { banner: '/// <reference types="node" />' },
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
};

/** How every library package builds: ESM + .d.ts from src/index.ts (apps bundle differently). */
export default defineConfig(library);

/**
 * A library with a `./testing` export (src/testing/index.ts → dist/testing.js): the helpers a
 * package's users need in their own tests. Code both entries use lands in one shared chunk, so
 * a class is the same class through either import.
 */
export const libraryWithTesting = defineConfig({
  ...library,
  entry: { index: "src/index.ts", testing: "src/testing/index.ts" },
});

/**
 * A program (apps, the image command): src/index.ts is its module API, src/main.ts its
 * executable. The workspaces are compiled in from source; `bundleEverything` also bundles every
 * npm dependency, so the executable runs from dist alone (a container image holds no
 * node_modules).
 */
export function program(options: { bundleEverything: boolean }) {
  return defineConfig({
    entry: ["src/index.ts", "src/main.ts"],
    format: ["esm"],
    dts: { entry: "src/index.ts" },
    sourcemap: true,
    clean: true,
    tsconfig: "tsconfig.build.json",
    target: "node22",
    noExternal: options.bundleEverything ? [/.*/] : [/^@regmirror\//],
    // Bundled CommonJS dependencies (yaml, the Kubernetes client...) call require() for Node
    // built-ins: give the ESM bundle one.
    ...(options.bundleEverything
      ? {
          banner: {
            js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
          },
        }
      : {}),
    esbuildOptions(esbuild) {
      esbuild.conditions = ["@regmirror/source"];
    },
  });
}
