// Metadata records as small files, one per key, each replaced atomically.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { MetadataStore } from "../blob-store.js";
import { InvalidMetadataKeyError } from "../errors.js";
import {
  checkMetadataPrefix,
  decodeKeyComponents,
  encodeKeySegments,
  encodeMetadataPrefix,
  leafSuffix,
  metadataKeySegments,
} from "../metadata-key.js";
import { errorCode, writeFileAtomically } from "./durable-file.js";

/** Metadata records as small files under `directory`, one per key, each replaced atomically. */
export function createFilesystemMetadata(
  directory: string,
  temporaryDirectory: string,
): MetadataStore {
  function pathOf(key: string): string {
    // A segment too long for one file name is stored as several (see metadata-key.ts).
    const encoded = encodeKeySegments(metadataKeySegments(key));
    const leaf = encoded.pop() as string;
    return join(directory, ...encoded, `${leaf}${leafSuffix}`);
  }

  /** Keys under the directory `relative` (encoded path components) that start with `prefix`. */
  async function* walk(
    relative: string[],
    prefix: string,
    encodedPrefix: string,
  ): AsyncGenerator<string> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(join(directory, ...relative), { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        // Only descend where a matching key can live (encoding keeps prefixes).
        const below = `${[...relative, entry.name].join("/")}/`;
        if (below.startsWith(encodedPrefix) || encodedPrefix.startsWith(below)) {
          yield* walk([...relative, entry.name], prefix, encodedPrefix);
        }
      } else if (entry.isFile() && entry.name.endsWith(leafSuffix)) {
        const name = entry.name.slice(0, -leafSuffix.length);
        const key = decodeKeyComponents([...relative, name]);
        if (key?.startsWith(prefix)) yield key;
      }
    }
  }

  return {
    async get(key) {
      try {
        return await readFile(pathOf(key), "utf8");
      } catch (error) {
        if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return undefined;
        throw error;
      }
    },
    async put(key, value) {
      if (typeof value !== "string") {
        throw new InvalidMetadataKeyError(key, "the value must be a string (JSON.stringify it)");
      }
      await writeFileAtomically(pathOf(key), value, temporaryDirectory);
    },
    async delete(key) {
      const path = pathOf(key);
      try {
        await rm(path);
        return true;
      } catch (error) {
        if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return false;
        throw error;
      }
    },
    async *list(prefix) {
      checkMetadataPrefix(prefix);
      // Start at the deepest directory that the complete segments of the prefix name.
      const complete = prefix.split("/").slice(0, -1);
      const start = complete.some((segment) => segment === "") ? [] : encodeKeySegments(complete);
      yield* walk(start, prefix, encodeMetadataPrefix(prefix));
    },
  };
}
