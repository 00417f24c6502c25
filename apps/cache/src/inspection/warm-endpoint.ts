/**
 * `POST /admin/v1/warm` (docs/adr/0032-warm-ahead.md): the body names one image, the answer comes
 * when it is in the store — the `warm` command's code, so a warmed image is exactly what a pull
 * later finds. The operator's warm-ahead calls it; anyone with the admin credential may.
 */
import type { IncomingMessage } from "node:http";
import { InvalidReferenceError, RegistryError } from "@regmirror/oci-distribution";
import type { WarmResult } from "../warm/warm-images.js";

/** Warms one image (every platform) into the store. */
export type WarmImage = (image: string) => Promise<WarmResult>;

/** A warm request the cache cannot carry out, with the status and OCI code to answer. */
export class WarmRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An image reference is at most a few hundred bytes. */
const maximumBodyBytes = 16 * 1024;
const expectedBody = 'a JSON body {"image": "registry/repository:tag"}';

async function readImage(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > maximumBodyBytes) {
      throw new WarmRequestError(
        400,
        "BAD_REQUEST",
        `the body is larger than ${maximumBodyBytes} bytes: ${expectedBody}`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new WarmRequestError(400, "BAD_REQUEST", `the body is not JSON: ${expectedBody}`);
  }
  const image = (body as { image?: unknown } | null)?.image;
  if (typeof image !== "string" || image === "") {
    throw new WarmRequestError(400, "BAD_REQUEST", `no "image" in the body: ${expectedBody}`);
  }
  return image;
}

/** Warms the image the request names; WarmRequestError says what went wrong and how to answer. */
export async function answerWarmRequest(
  request: IncomingMessage,
  warm: WarmImage,
): Promise<WarmResult> {
  const image = await readImage(request);
  try {
    return await warm(image);
  } catch (error) {
    if (InvalidReferenceError.isInstance(error)) {
      throw new WarmRequestError(400, "NAME_INVALID", `"${image}": ${error.message}`);
    }
    if (RegistryError.isInstance(error)) {
      // DENIED: a registry the cache does not mirror; upstream errors keep their code.
      throw new WarmRequestError(
        error.status >= 500 ? 502 : error.status,
        error.code,
        `"${image}": ${error.message}`,
      );
    }
    // warmImage's own words ("no such manifest ...") or a failed upstream transfer.
    const message = (error as Error).message;
    if (message.startsWith("no such manifest")) {
      throw new WarmRequestError(404, "MANIFEST_UNKNOWN", `"${image}": ${message}`);
    }
    throw new WarmRequestError(
      502,
      "UNAVAILABLE",
      `"${image}": the upstream transfer failed: ${message}`,
    );
  }
}
