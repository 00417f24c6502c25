// Writes the RegistryMirror CRD, generated from the zod schema, to every place it is committed.
// Usage: node scripts/generate-crd.mjs (from apps/operator; `pnpm generate:crd`).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "tsup";

const appDirectory = join(import.meta.dirname, "..");
const repositoryRoot = join(appDirectory, "../..");
const outDirectory = join(appDirectory, "node_modules/.cache", `generate-crd-${process.pid}`);
const bundle = join(outDirectory, "crd-files.js");

// Everything bundled (zod and yaml are dependencies of the schemas package, not of this app).
await build({
  config: false,
  entry: { "crd-files": join(appDirectory, "src/operator/render/crd-files.ts") },
  outDir: outDirectory,
  format: ["esm"],
  platform: "node",
  target: "node22",
  silent: true,
  noExternal: [/./],
  banner: {
    js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["@regmirror/source"];
  },
});
try {
  const { crdFileLocations, renderCrdYaml } = await import(pathToFileURL(bundle).href);
  const yaml = renderCrdYaml();
  for (const location of crdFileLocations) {
    const file = join(repositoryRoot, location);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, yaml);
    console.log(`wrote ${location}`);
  }
} finally {
  rmSync(outDirectory, { recursive: true, force: true });
}
