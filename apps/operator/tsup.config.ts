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
  // The app ships as one bundle: workspace packages are compiled in from their source.
  noExternal: [/^@regmirror\//],
  esbuildOptions(options) {
    options.conditions = ["@regmirror/source"];
  },
});
