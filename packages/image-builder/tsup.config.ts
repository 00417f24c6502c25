import { defineConfig } from "tsup";

export default defineConfig({
  // index: the API tests and other packages import; main: the `pnpm image` command.
  entry: ["src/index.ts", "src/main.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
  // The workspace packages are compiled in from source; npm dependencies stay external.
  noExternal: [/^@regmirror\//],
  esbuildOptions(options) {
    options.conditions = ["@regmirror/source"];
  },
});
