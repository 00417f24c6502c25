// The S3 backend: blobs verified while they upload and visible only once verified.
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  type BlobStat,
  type Clock,
  DigestVerifier,
  formatDigest,
  isDigest,
  type Logger,
  type ParsedDigest,
} from "@regmirror/core";
import type { BlobBackend } from "../blob-backend.js";
import { resolveRange } from "../blob-backend.js";
import { emptyReader, streamReader } from "../blob-reader.js";
import { InvalidOptionsError } from "../errors.js";
import { resolveS3Credentials, type S3Credentials } from "./s3-credentials.js";
import { isMissingObject, mapS3Error, s3ErrorName, s3Status } from "./s3-errors.js";
import { createS3Metadata } from "./s3-metadata.js";

export interface S3BackendOptions {
  bucket: string;
  /** Prepended to every object key, e.g. "regmirror/". Default: "". */
  prefix?: string;
  /** e.g. "http://127.0.0.1:9000" for an S3-compatible server; default: AWS. */
  endpoint?: string;
  region?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; needed for most non-AWS servers. */
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
  /** Size of multipart parts (>= 5 MiB); a blob smaller than one part is one PutObject. Default 8 MiB. */
  partSizeBytes?: number;
  /** Unfinished multipart uploads older than this are aborted at start-up. Default: 24 h. */
  staleUploadAgeMs?: number;
  /** A ready client instead of the options above (its config is used as is). */
  client?: S3Client;
}

const mebibyte = 1024 * 1024;
const minimumPartSize = 5 * mebibyte;
const maximumParts = 10_000;

/**
 * Opens the S3 backend after checking that the bucket exists and the credentials work.
 *
 * How a blob never shows unverified under its final key: the bytes are hashed while they are
 * uploaded. A blob smaller than one part is held in memory (at most one part) and PUT under its
 * final key only after its digest checked out. A larger blob goes up as a multipart upload
 * whose parts are invisible; CompleteMultipartUpload, which makes the object appear atomically,
 * is sent only after the last byte was verified, and AbortMultipartUpload otherwise. A crash
 * leaves at most an invisible unfinished upload, which start-up aborts once it is stale.
 */
export async function openS3Backend(
  options: S3BackendOptions,
  clock: Clock,
  logger: Logger,
): Promise<BlobBackend> {
  const { bucket } = options;
  if (typeof bucket !== "string" || bucket === "") {
    throw new InvalidOptionsError("S3 storage needs a bucket name");
  }
  const prefix = options.prefix ?? "";
  const partSize = options.partSizeBytes ?? 8 * mebibyte;
  if (!Number.isSafeInteger(partSize) || partSize < minimumPartSize) {
    throw new InvalidOptionsError(`partSizeBytes must be at least 5 MiB, got ${partSize}`);
  }
  const client =
    options.client ??
    new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: resolveS3Credentials(options.credentials, options.region),
      // Recent SDKs add CRC checksums some S3-compatible servers reject; digests verify content.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  const ownsClient = options.client === undefined;

  const blobRoot = `${prefix}blobs/`;
  try {
    // A listing (not HeadBucket) answers with an error body, which tells a missing bucket from
    // an unknown access key: some servers answer HeadBucket with a bare 404 for both.
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: blobRoot, MaxKeys: 1 }));
  } catch (error) {
    if (ownsClient) client.destroy();
    throw mapS3Error(error, bucket);
  }

  const keyOf = (digest: ParsedDigest) => `${blobRoot}${digest.algorithm}/${digest.encoded}`;

  await abortStaleUploads(
    client,
    bucket,
    blobRoot,
    options.staleUploadAgeMs ?? 24 * 3600_000,
    clock,
    logger,
  );

  async function head(digest: ParsedDigest): Promise<number | undefined> {
    try {
      const response = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: keyOf(digest) }),
      );
      return response.ContentLength ?? 0;
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw mapS3Error(error, bucket);
    }
  }

  async function write(
    digest: ParsedDigest,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }> {
    const key = keyOf(digest);
    // Grow parts for huge blobs so they fit in S3's 10 000 parts.
    const thisPartSize =
      expectedSize === undefined
        ? partSize
        : Math.max(partSize, Math.ceil(expectedSize / (maximumParts - 1)));
    const verifier = new DigestVerifier(formatDigest(digest), expectedSize);
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let partInFlight: Promise<void> | undefined;

    const uploadPart = async (body: Buffer) => {
      uploadId ??= (
        await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
      ).UploadId;
      const partNumber = parts.length + 1;
      const part: CompletedPart = { PartNumber: partNumber };
      parts.push(part);
      const response = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
      );
      part.ETag = response.ETag;
    };

    try {
      await pipeline(
        source as AsyncIterable<Uint8Array>,
        verifier,
        async (verified: AsyncIterable<Buffer>) => {
          for await (const chunk of verified) {
            pending.push(chunk);
            pendingBytes += chunk.length;
            if (pendingBytes >= thisPartSize) {
              const body = Buffer.concat(pending);
              pending = [];
              pendingBytes = 0;
              // One part uploads while the next fills: memory stays at about two parts.
              await partInFlight;
              if (uploadId === undefined) await uploadPart(body);
              else partInFlight = uploadPart(body);
            }
          }
        },
      );
      // Here every byte went through the verifier and matched: the blob may become visible.
      await partInFlight;
      const size = verifier.size;
      if (uploadId === undefined) {
        const body = Buffer.concat(pending);
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
          }),
        );
      } else {
        if (pendingBytes > 0) await uploadPart(Buffer.concat(pending));
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
      }
      return { size, created: true };
    } catch (error) {
      await partInFlight?.catch(() => {});
      if (uploadId !== undefined) {
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
          .catch((abortError: unknown) =>
            logger.warn(
              { digest: formatDigest(digest), error: String(abortError) },
              "could not abort an upload",
            ),
          );
      }
      throw mapS3Error(error, bucket);
    }
  }

  async function* listBlobs(): AsyncGenerator<BlobStat> {
    try {
      for await (const page of paginateListObjectsV2(
        { client },
        { Bucket: bucket, Prefix: blobRoot },
      )) {
        for (const object of page.Contents ?? []) {
          const digest = object.Key?.slice(blobRoot.length).replace("/", ":");
          if (digest !== undefined && isDigest(digest)) yield { digest, size: object.Size ?? 0 };
        }
      }
    } catch (error) {
      throw mapS3Error(error, bucket);
    }
  }

  return {
    stat: head,
    async read(digest, range) {
      if (range !== undefined) resolveRange(formatDigest(digest), Number.MAX_SAFE_INTEGER, range);
      try {
        const response = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: keyOf(digest),
            Range: range === undefined ? undefined : `bytes=${range.start}-${range.end ?? ""}`,
          }),
        );
        const body = response.Body as Readable | undefined;
        const length = response.ContentLength ?? 0;
        // "bytes 0-99/1234" carries the whole size when a range was asked for.
        const total = /\/(\d+)$/.exec(response.ContentRange ?? "")?.[1];
        const size = total === undefined ? length : Number(total);
        const start = range === undefined ? 0 : range.start;
        const reader = body === undefined ? emptyReader : streamReader(body);
        return { digest: formatDigest(digest), size, start, end: start + length - 1, reader };
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        if (s3ErrorName(error) === "InvalidRange" || s3Status(error) === 416) {
          const size = await head(digest);
          if (size === undefined) return undefined;
          resolveRange(formatDigest(digest), size, range);
        }
        throw mapS3Error(error, bucket);
      }
    },
    write,
    async presignGet(digest, expiresInSeconds) {
      // The SDK's own SigV4 query signing, on real time: S3 compares it with its own clock.
      try {
        return await getSignedUrl(
          client,
          new GetObjectCommand({ Bucket: bucket, Key: keyOf(digest) }),
          { expiresIn: expiresInSeconds },
        );
      } catch (error) {
        throw mapS3Error(error, bucket);
      }
    },
    async delete(digest) {
      if ((await head(digest)) === undefined) return false;
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(digest) }));
        return true;
      } catch (error) {
        throw mapS3Error(error, bucket);
      }
    },
    listBlobs,
    metadata: createS3Metadata(client, bucket, prefix),
    async close() {
      if (ownsClient) client.destroy();
    },
  };
}

/** Aborts what crashed writers left behind; fresh uploads may belong to another replica. */
async function abortStaleUploads(
  client: S3Client,
  bucket: string,
  blobRoot: string,
  staleUploadAgeMs: number,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  let aborted = 0;
  for (;;) {
    const page = await client
      .send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: blobRoot,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      )
      .catch((error: unknown) => {
        throw mapS3Error(error, bucket);
      });
    for (const upload of page.Uploads ?? []) {
      const started = upload.Initiated?.getTime() ?? 0;
      if (clock.now() - started < staleUploadAgeMs) continue;
      await client.send(
        new AbortMultipartUploadCommand({
          Bucket: bucket,
          Key: upload.Key,
          UploadId: upload.UploadId,
        }),
      );
      aborted += 1;
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  if (aborted > 0) logger.info({ bucket, aborted }, "aborted stale unfinished uploads");
}
