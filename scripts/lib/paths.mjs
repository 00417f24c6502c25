import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";

export const repositoryRoot = resolve(import.meta.dirname, "..", "..");

/** Where tools the tests need are built and kept between runs, outside the repository. */
export function cacheDirectory() {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return process.env.REGMIRROR_CACHE_DIR ?? join(base, "regmirror");
}

export function prependToPath(env, ...directories) {
  return { ...env, PATH: [...directories, env.PATH ?? ""].join(delimiter) };
}
