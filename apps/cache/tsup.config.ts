import { defineConfig } from "tsup";

export default defineConfig({
  // main.ts is the regmirror-cache executable (package.json "bin"); index.ts the module API.
  entry: ["src/index.ts", "src/main.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
  // The executable must run from dist alone: bundle the workspaces (from source) and their
  // dependencies rather than expecting them next to it.
  noExternal: [/.*/],
  // yaml's Node entry is CommonJS and calls require("process"); give the ESM bundle a require.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["@regmirror/source"];
  },
});
