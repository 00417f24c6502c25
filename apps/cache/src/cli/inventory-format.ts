/** How `ls`, `du` and `rm` print what the inventory answers: aligned columns, sizes in IEC units. */
import type {
  EvictionReport,
  InventoryListing,
  InventoryUsage,
} from "../inspection/cache-inventory.js";

/** 1536 → "1.5 KiB"; under 1 KiB in bytes. */
export function formatBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}

function formatTime(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Rows as columns padded to their widest cell, the last column unpadded. */
function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join("  "),
    )
    .join("\n")
    .concat("\n");
}

/** A digest as `sha256:` and its first 12 hex digits, as docker shows image ids. */
function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return digest.slice(0, colon + 13);
}

export function formatListing(listing: InventoryListing): string {
  if (listing.repositories.length === 0) return "the cache holds no tagged image\n";
  const rows = [["REPOSITORY", "TAG", "DIGEST", "SIZE", "LAST ACCESS"]];
  for (const repository of listing.repositories) {
    for (const image of repository.images) {
      const missing = image.missingBlobs > 0 ? ` (${image.missingBlobs} blobs not cached)` : "";
      rows.push([
        repository.name,
        image.tag,
        shortDigest(image.digest),
        `${formatBytes(image.bytes)}${missing}`,
        formatTime(image.lastAccessAt),
      ]);
    }
  }
  return table(rows);
}

export function formatUsage(usage: InventoryUsage): string {
  const rows = [["SIZE", "BLOBS", "WHAT"]];
  rows.push([formatBytes(usage.store.bytes), String(usage.store.blobs), "the whole store"]);
  for (const upstream of usage.byUpstream) {
    rows.push([
      formatBytes(upstream.bytes),
      String(upstream.blobs),
      `upstream ${upstream.upstream}`,
    ]);
  }
  for (const repository of usage.repositories) {
    rows.push([formatBytes(repository.bytes), "", `${repository.name} (${repository.tags} tags)`]);
  }
  rows.push([
    formatBytes(usage.untagged.bytes),
    String(usage.untagged.blobs),
    "content no cached tag reaches (pulled by digest, or left by a moved tag)",
  ]);
  return table(rows);
}

export function formatEviction(report: EvictionReport): string {
  const lines = [
    `${report.target}: removed ${report.evicted.length} blobs (${formatBytes(report.bytesFreed)})` +
      (report.tags.length > 0 ? ` and the tags ${report.tags.join(", ")}` : ""),
  ];
  const reasons = {
    "in-use": "being read by a client",
    downloading: "being downloaded",
    shared: "used by another cached image",
  } as const;
  for (const kept of report.kept) lines.push(`  kept ${kept.digest}: ${reasons[kept.reason]}`);
  return `${lines.join("\n")}\n`;
}
