import { defineConfig } from "tsup";

/** How every library package builds: ESM + .d.ts from src/index.ts (apps bundle differently). */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  // The declarations use Node's types (streams, Buffer): the reference loads @types/node (a peer
  // dependency) even in a consumer whose tsconfig loads no global types (TypeScript 6+ default).
  dts: { banner: '/// <reference types="node" />' },
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json",
  target: "node22",
});
