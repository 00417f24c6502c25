import { readFileSync } from "node:fs";
import { CacheConfigError, type ConfigProblem, loadCacheConfigFromYaml } from "../../src/index.js";

export function readFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
}

export function loadFixture(name: string) {
  return loadCacheConfigFromYaml(readFixture(name), name);
}

/** The problems a configuration is refused with; fails the test when it is accepted. */
export function problemsOf(load: () => unknown): readonly ConfigProblem[] {
  try {
    load();
  } catch (error) {
    if (CacheConfigError.isInstance(error)) return error.problems;
    throw error;
  }
  throw new Error("the configuration was accepted");
}
