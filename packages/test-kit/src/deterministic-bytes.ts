// Bytes, tars and gzips that are the same on every run, for test images.
import { createCipheriv, createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** `length` pseudo-random bytes that depend only on `seed` (AES-256-CTR over zeros). */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  const iv = createHash("sha256").update(`iv:${seed}`).digest().subarray(0, 16);
  return createCipheriv("aes-256-ctr", key, iv).update(Buffer.alloc(length));
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/**
 * A ustar archive of regular files with fixed owner and mtime (mode 0644 unless a file says), so
 * equal input gives equal bytes.
 */
export function deterministicTar(
  files: { name: string; content: Buffer; mode?: number }[],
): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    if (Buffer.byteLength(file.name) > 100)
      throw new Error(`tar entry name too long: ${file.name}`);
    const header = Buffer.alloc(512);
    header.write(file.name, 0, "utf8");
    header.write(octal(file.mode ?? 0o644, 8), 100, "ascii");
    header.write(octal(0, 8), 108, "ascii");
    header.write(octal(0, 8), 116, "ascii");
    header.write(octal(file.content.length, 12), 124, "ascii");
    header.write(octal(0, 12), 136, "ascii");
    header.write("        ", 148, "ascii"); // checksum counts as spaces while it is computed
    header.write("0", 156, "ascii");
    header.write("ustar\0", 257, "ascii");
    header.write("00", 263, "ascii");
    let checksum = 0;
    for (const byte of header) checksum += byte;
    header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    blocks.push(header, file.content);
    const padding = (512 - (file.content.length % 512)) % 512;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** gzip with no file name and mtime 0 (node's zlib writes neither), so it is deterministic. */
export function deterministicGzip(bytes: Buffer): Buffer {
  return gzipSync(bytes, { level: 6 });
}
