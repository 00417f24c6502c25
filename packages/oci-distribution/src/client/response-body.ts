/** Reading response bodies with a size limit, so a hostile or broken server cannot fill memory. */

import { type HttpResponse, toConnectionError } from "./http-transport.js";
import { abortedError } from "./retry.js";

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    super(`response body is larger than ${limit} bytes`);
  }
}

/** The whole body as one Buffer; destroys the stream and throws BodyTooLargeError past `limit`. */
export async function readBodyBytes(response: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      total += buffer.byteLength;
      if (total > limit) {
        response.body.destroy();
        throw new BodyTooLargeError(limit);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    if (response.signal?.aborted) throw abortedError(response.signal);
    throw toConnectionError(error, response.method, response.url);
  }
  return Buffer.concat(chunks, total);
}

/** Reads at most `limit` bytes of an error body as text and discards the rest. */
export async function readErrorText(response: HttpResponse, limit = 64 * 1024): Promise<string> {
  try {
    return (await readBodyBytes(response, limit)).toString("utf8");
  } catch {
    return "";
  }
}
