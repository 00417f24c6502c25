// Builds the production bundle (tsup.config.ts as it is) into a temporary directory, so tests
// run what the container image holds: `node main.js ...` (packages/image-builder bundles the same way).
import { join } from "node:path";
import { makeTempDirectory } from "@regmirror/test-kit";
import { build } from "tsup";
import productionBuild from "../../tsup.config.js";

export async function buildProductionBundle(): Promise<string> {
  const directory = makeTempDirectory("regmirror-cache-bundle-");
  const options = Array.isArray(productionBuild) ? productionBuild[0] : productionBuild;
  if (typeof options !== "object")
    throw new Error("tsup.config.ts should export one options object");
  await build({
    ...options,
    entry: ["src/main.ts"],
    outDir: join(directory, "dist"),
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
    config: false,
  });
  return join(directory, "dist", "main.js");
}
