import { defineConfig } from "tsup";

/** How every library package builds: ESM + .d.ts from src/index.ts (apps bundle differently). */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
});
