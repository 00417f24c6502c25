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
    // A poll waits for a process or a server to reach a state: vitest's 1 s fails on a loaded
    // machine. As long as the kit's `eventually`; a poll that needs longer says so itself.
    expect: { poll: { timeout: 30_000 } },
    passWithNoTests: true,
  },
});
