import { defineConfig } from "vitest/config";

/** The vitest configuration every workspace uses (its own vitest.config.ts re-exports it). */
export default defineConfig({
  // Tests import other workspaces from source (the "@regmirror/source" export condition).
  resolve: { conditions: ["@regmirror/source"] },
  ssr: { resolve: { conditions: ["@regmirror/source"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The JSON report is what scripts/test-all.mjs counts for the closing line.
    reporters: ["default", ["json", { outputFile: "reports/vitest.json" }]],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    passWithNoTests: true,
  },
});
