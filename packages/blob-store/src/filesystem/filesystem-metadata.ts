import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { MetadataStore } from "../blob-store.js";
import { InvalidMetadataKeyError } from "../errors.js";
import {
  checkMetadataPrefix,
  decodeKeySegment,
  encodeKeySegment,
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
    // metadataKeySegments refuses segments too long for a file name once encoded.
    const encoded = metadataKeySegments(key).map(encodeKeySegment);
    const leaf = encoded.pop() as string;
    return join(directory, ...encoded, `${leaf}${leafSuffix}`);
  }

  async function* walk(relative: string[], prefix: string): AsyncGenerator<string> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(join(directory, ...relative), { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const key = [...relative, entry.name].map(decodeKeySegment).join("/");
        // Only descend where a matching key can live.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) {
          yield* walk([...relative, entry.name], prefix);
        }
      } else if (entry.isFile() && entry.name.endsWith(leafSuffix)) {
        const name = entry.name.slice(0, -leafSuffix.length);
        const key = [...relative, name].map(decodeKeySegment).join("/");
        if (key.startsWith(prefix)) yield key;
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
      const start = complete.some((segment) => segment === "")
        ? []
        : complete.map(encodeKeySegment);
      yield* walk(start, prefix);
    },
  };
}
