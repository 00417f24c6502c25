import { defineConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

// Two projects: "unit" (the builder's parts and the release wiring; seconds) and "images", whose
// global setup builds both images once for every file that uses them
// (`vitest run --project unit` skips the build).
const sourceConditions = { conditions: ["@regmirror/source"] };
export default defineConfig({
  resolve: sourceConditions,
  ssr: { resolve: sourceConditions },
  // The global setup runs in vitest's own "__vitest__" environment: it needs the condition too.
  environments: { ssr: { resolve: sourceConditions }, __vitest__: { resolve: sourceConditions } },
  test: {
    reporters: shared.test?.reporters,
    testTimeout: shared.test?.testTimeout,
    hookTimeout: shared.test?.hookTimeout,
    expect: shared.test?.expect,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["src/**/*.test.ts", "test/release/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "images",
          include: ["test/*.test.ts"],
          globalSetup: ["test/build-once.ts"],
          // One file at a time: each pulls and runs images in its own containerd.
          fileParallelism: false,
        },
      },
    ],
  },
});
