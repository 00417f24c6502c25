// "Has anything changed since the last time?" for npm start's fast path: a SHA-256 over the
// files a step reads, kept in a stamp file next to what the step produced. Reading and hashing a
// few hundred small files takes milliseconds; pnpm install and turbo take seconds.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { repositoryRoot } from "./paths.mjs";

const skippedDirectories = new Set(["node_modules", "dist", "reports", ".turbo"]);

function* filesUnder(path) {
  if (!existsSync(path)) return;
  if (statSync(path).isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.isDirectory() && skippedDirectories.has(entry.name)) continue;
    yield* filesUnder(join(path, entry.name));
  }
}

/** The hash of the files at `paths` (files or directories, relative to the repository). */
export function hashInputs(paths) {
  const hash = createHash("sha256");
  for (const path of paths) {
    for (const file of filesUnder(join(repositoryRoot, path))) {
      hash.update(relative(repositoryRoot, file)).update("\0").update(readFileSync(file));
    }
  }
  return hash.digest("hex");
}

export function stampMatches(stampFile, inputHash) {
  return existsSync(stampFile) && readFileSync(stampFile, "utf8") === inputHash;
}

export function writeStamp(stampFile, inputHash) {
  writeFileSync(stampFile, inputHash);
}
