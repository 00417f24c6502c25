// Throughput of put and get on both backends next to a plain file copy of the same bytes, and
// peak memory while storing a 2 GB blob. Run: pnpm --filter @regmirror/blob-store bench
// (needs versitygw, built by the test command). Not part of the test suite.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { startS3Server } from "@regmirror/test-kit";
import { type BlobStore, createFilesystemBlobStore, createS3BlobStore } from "../src/index.js";
import { deterministicChunks, deterministicDigest } from "../test/fixtures/deterministic-bytes.js";

const mebibyte = 1024 * 1024;
const throughputBytes = Number(process.env.BENCH_MB ?? 256) * mebibyte;
const largeBytes = Number(process.env.BENCH_LARGE_MB ?? 2048) * mebibyte;
const runs = 3;

const discard = () =>
  new Writable({ write: (_chunk, _encoding, callback) => callback(), highWaterMark: mebibyte });

async function median(run: () => Promise<void>): Promise<number> {
  const seconds: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const started = process.hrtime.bigint();
    await run();
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  return seconds[Math.floor(runs / 2)] ?? Number.NaN;
}

const megabytesPerSecond = (bytes: number, seconds: number) =>
  (bytes / mebibyte / seconds).toFixed(0);

/** Peak RSS (sampled every 10 ms) while `run` stores a large blob. */
async function peakRss(run: () => Promise<void>): Promise<{ before: number; peak: number }> {
  global.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return { before: before / mebibyte, peak: Math.max(peak, process.memoryUsage.rss()) / mebibyte };
}

const workDirectory = await mkdtemp(join(tmpdir(), "blob-store-bench-"));
const s3 = await startS3Server();
try {
  await s3.createBucket("bench");
  const openS3 = (prefix: string) =>
    createS3BlobStore({
      bucket: "bench",
      prefix,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });

  // Peak memory first, while the heap is still small.
  const largeDigest = deterministicDigest("large", largeBytes);
  const memory: Record<string, { before: number; peak: number }> = {};
  {
    const store = await createFilesystemBlobStore({
      rootDirectory: join(workDirectory, "fs-large"),
    });
    memory.filesystem = await peakRss(async () => {
      await store.put(largeDigest, Readable.from(deterministicChunks("large", largeBytes)));
    });
    await store.close();
    await rm(join(workDirectory, "fs-large"), { recursive: true });
  }
  {
    const store = await openS3("large/");
    memory.s3 = await peakRss(async () => {
      await store.put(largeDigest, Readable.from(deterministicChunks("large", largeBytes)));
    });
    await store.delete(largeDigest);
    await store.close();
  }

  // The same bytes as a file, for the plain copy and as the source of every put.
  const sourceFile = join(workDirectory, "source");
  await pipeline(
    Readable.from(deterministicChunks("throughput", throughputBytes)),
    createWriteStream(sourceFile),
  );
  const digest = deterministicDigest("throughput", throughputBytes);

  let copies = 0;
  const copySeconds = await median(async () => {
    // flush: fsync before close, as the filesystem backend does.
    await pipeline(
      createReadStream(sourceFile, { highWaterMark: mebibyte }),
      createWriteStream(join(workDirectory, `copy-${copies++}`), {
        flush: true,
        highWaterMark: mebibyte,
      }),
    );
  });
  const readSeconds = await median(async () => {
    await pipeline(createReadStream(sourceFile, { highWaterMark: mebibyte }), discard());
  });

  const measure = async (open: (run: number) => Promise<BlobStore>) => {
    let run = 0;
    const putSeconds = await median(async () => {
      const store = await open(run++);
      await store.put(digest, createReadStream(sourceFile, { highWaterMark: mebibyte }));
      await store.close();
    });
    const store = await open(0);
    const getSeconds = await median(async () => {
      const result = await store.get(digest);
      if (result === undefined) throw new Error("the blob is missing");
      await pipeline(result.body, discard());
    });
    await store.close();
    return { putSeconds, getSeconds };
  };
  const filesystem = await measure((run) =>
    createFilesystemBlobStore({ rootDirectory: join(workDirectory, `fs-${run}`) }),
  );
  const s3Results = await measure((run) => openS3(`throughput-${run}/`));

  const size = throughputBytes / mebibyte;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu}, Node ${process.version}`,
  );
  console.log(
    `${size} MiB blob, median of ${runs} runs; S3 = versitygw (posix backend) on loopback, same disk`,
  );
  console.log("");
  console.log("| what | put (write) MiB/s | get (read) MiB/s |");
  console.log("| --- | ---: | ---: |");
  console.log(
    `| plain file copy (read + write + fsync) / plain read | ${megabytesPerSecond(throughputBytes, copySeconds)} | ${megabytesPerSecond(throughputBytes, readSeconds)} |`,
  );
  console.log(
    `| filesystem backend | ${megabytesPerSecond(throughputBytes, filesystem.putSeconds)} | ${megabytesPerSecond(throughputBytes, filesystem.getSeconds)} |`,
  );
  console.log(
    `| S3 backend | ${megabytesPerSecond(throughputBytes, s3Results.putSeconds)} | ${megabytesPerSecond(throughputBytes, s3Results.getSeconds)} |`,
  );
  console.log("");
  console.log(`Peak RSS while storing a ${largeBytes / mebibyte} MiB blob (RSS before → peak):`);
  for (const [backend, { before, peak }] of Object.entries(memory)) {
    console.log(`- ${backend}: ${before.toFixed(0)} MiB → ${peak.toFixed(0)} MiB`);
  }
} finally {
  await s3.stop();
  await rm(workDirectory, { recursive: true, force: true });
}
