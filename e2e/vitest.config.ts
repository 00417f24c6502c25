import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.js";

// One cluster for the whole file: its steps build on each other and wait for real pods, image
// pulls and rollouts on 2 shared cores.
export default mergeConfig(
  shared,
  defineConfig({ test: { testTimeout: 300_000, hookTimeout: 900_000 } }),
);
