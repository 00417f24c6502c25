// The layer with Node: the official binary from the npm registry's node-linux-<arch> tarball,
// byte for byte, and its licence. Not npm, not corepack, not the headers.
import { gunzipSync } from "node:zlib";
import { fileEntry, type LayerEntry } from "../tar/layer-entry.js";
import { readTar } from "../tar/tar-reader.js";

export const nodePath = "/usr/local/bin/node";

export function nodeLayerEntries(tarball: Buffer, where: string): LayerEntry[] {
  const files = readTar(gunzipSync(tarball), where);
  const pick = (path: string) => {
    const entry = files.find((candidate) => candidate.path === path && candidate.type === "file");
    if (entry?.content === undefined) throw new Error(`${where} has no ${path}`);
    return entry.content;
  };
  return [
    fileEntry(nodePath.slice(1), pick("package/bin/node"), 0o755),
    fileEntry("usr/local/share/doc/node/LICENSE", pick("package/LICENSE")),
  ];
}
