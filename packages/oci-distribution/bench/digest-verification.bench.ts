/**
 * Streaming digest verification (createDigestVerifier) next to plain node:crypto sha256 over the
 * same bytes (64 MiB in 64 KiB chunks). Run `pnpm run bench` in this package; not part of tests.
 * Prints MiB/s per variant: the median of several rounds after a warm-up.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { computeDigest, createDigestVerifier } from "@regmirror/core";
import { it } from "vitest";

const chunkSize = 64 * 1024;
const totalSize = 64 * 1024 * 1024;
const rounds = 7;
const chunks = Array.from({ length: totalSize / chunkSize }, () => randomBytes(chunkSize));
const expected = computeDigest(Buffer.concat(chunks));

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

const variants: Record<string, () => Promise<void>> = {
  "crypto sha256, update per chunk (no stream)": async () => {
    const hash = createHash("sha256");
    for (const chunk of chunks) hash.update(chunk);
    if (`sha256:${hash.digest("hex")}` !== expected) throw new Error("wrong digest");
  },
  "stream -> crypto sha256 in for-await (no verifier)": async () => {
    const hash = createHash("sha256");
    for await (const chunk of Readable.from(chunks)) hash.update(chunk as Buffer);
    if (`sha256:${hash.digest("hex")}` !== expected) throw new Error("wrong digest");
  },
  "stream -> createDigestVerifier -> sink (pipeline)": async () => {
    await pipeline(Readable.from(chunks), createDigestVerifier(expected, totalSize), discard());
  },
};

async function mebibytesPerSecond(run: () => Promise<void>): Promise<number> {
  await run(); // warm-up
  const rates: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    await run();
    rates.push(totalSize / 1024 / 1024 / ((performance.now() - started) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] ?? 0;
}

it("digest verification throughput", async () => {
  const lines = [
    `${new Date().toISOString()} · Node ${process.version} · ${cpus()[0]?.model ?? "cpu"} ×${cpus().length}`,
    `sha256 over ${totalSize / 1024 / 1024} MiB in ${chunkSize / 1024} KiB chunks, median of ${rounds}:`,
  ];
  for (const [name, run] of Object.entries(variants)) {
    lines.push(`  ${name}: ${(await mebibytesPerSecond(run)).toFixed(0)} MiB/s`);
  }
  console.log(lines.join("\n"));
});
