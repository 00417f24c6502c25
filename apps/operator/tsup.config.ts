import { defineConfig } from "tsup";

export default defineConfig({
  // index: the package's API; main: the regmirror-operator binary (see src/cli.ts).
  entry: ["src/index.ts", "src/main.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
  // The executable must run from dist alone (the container image holds no node_modules): bundle
  // the workspaces (from source) and every npm dependency.
  noExternal: [/.*/],
  // Some dependencies are CommonJS and call require() for Node built-ins; give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["@regmirror/source"];
  },
});
