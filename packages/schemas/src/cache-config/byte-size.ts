// Sizes written the way people write them: 50GiB (2^30 based), 10GB (10^9 based), 512MiB, or a
// bare number of bytes.

const bytesPerUnit: Record<string, number> = {
  "": 1,
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
};

const sizePattern = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/;

export const byteSizeExpectation =
  "a size like 50GiB, 512MiB or 10GB (KiB/MiB/GiB/TiB are powers of 1024, kB/MB/GB/TB of 1000)";

/** Parses "50GiB" into bytes; undefined when the text is not a size. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  const match = sizePattern.exec(value.trim());
  if (!match) return undefined;
  const [, amount = "", unit = ""] = match;
  const multiplier = bytesPerUnit[unit];
  if (multiplier === undefined) return undefined;
  const bytes = Math.floor(Number(amount) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Formats bytes with the largest binary unit that keeps the number readable: 50GiB, 1.5MiB. */
export function formatByteSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unitIndex = 0;
  while (value >= 1024 && unitIndex < units.length - 1) {
    value /= 1024;
    unitIndex += 1;
  }
  const rounded = Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, "");
  return `${rounded}${units[unitIndex]}`;
}
