import { defineConfig } from "vitest/config";

/** Benchmarks run with `pnpm run bench` in a package, never with the tests (and write no test report). */
export default defineConfig({
  resolve: { conditions: ["@regmirror/source"] },
  ssr: { resolve: { conditions: ["@regmirror/source"] } },
  test: {
    include: ["bench/**/*.bench.ts"],
    reporters: ["default"],
    testTimeout: 900_000,
    fileParallelism: false,
  },
});
